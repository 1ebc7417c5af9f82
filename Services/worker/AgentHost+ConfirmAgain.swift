import AgentStore
import Logging
import PoolProtocol

extension AgentHost {
    /// A `start_agent` for an agent that already runs here: records it `running` once more,
    /// then announces it again. The record is observed state committed without waiting for
    /// the WAL (`AgentStore.markRunningSQL`), so a PostgreSQL crash can lose it while the
    /// agent keeps running; the leader then sees a row that should run, placed here, not
    /// recorded running, and sends this command again (`PoolLeader+Snapshot`). The write is
    /// the same conditional one as at the start, so a repeat changes nothing else.
    func confirmAgain(_ agentID: String) async {
        var updatedAt: String?
        do {
            updatedAt = try await store.recordRunning(id: agentID, processID: processID).updatedAt.map(Timestamp.string)
        } catch {
            // The announcement still goes out; the leader asks again on a later pass.
            logger.warning(
                "Could not record again an agent that runs here", metadata: ["agent_id": "\(agentID)", "error": "\(error)"])
        }
        await announce(.agentStarted(AgentEvent(processID: processID, agentID: agentID, updatedAt: updatedAt)))
    }
}
