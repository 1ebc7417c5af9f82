import AgentStore
import Logging
import PoolCore
import PoolProtocol
import Registry

extension PoolLeader {
    /// Repairs what the plan found inconsistent in the registry, each with a script that checks
    /// again and changes nothing when the state moved on meanwhile, then sends the stops.
    /// Returns the agents that turned out placed after all (not to be placed again).
    func repair(_ plan: ReconcilePlan, records: [String: AgentRecord]) async throws -> Set<String> {
        var stillPlaced: Set<String> = []
        // An "orphan" whose worker turns out to be registered after all stays where it is.
        for orphan in plan.orphaned
        where !(try await registry.releaseOrphan(agentID: orphan.agentID, processID: orphan.processID, fence: fence)) {
            stillPlaced.insert(orphan.agentID)
        }
        // A hash naming a worker that does not list the agent: that worker stops (or stopped)
        // the agent; clear the hash, and the agent is placed again below.
        for entry in plan.unattributed {
            if try await registry.clearUnattributed(agentID: entry.agentID, processID: entry.processID, fence: fence) {
                logger.warning(
                    "Cleared a placement its worker does not list",
                    metadata: ["agent_id": "\(entry.agentID)", "process_id": "\(entry.processID)"])
            } else {
                stillPlaced.insert(entry.agentID)
            }
        }
        // A worker lists an agent no hash records: it runs there; record it, never start a second.
        for entry in plan.unrecorded {
            guard let record = records[entry.agentID] else { continue }
            if try await registry.restoreRecord(record.spec, processID: entry.processID, fence: fence) {
                logger.warning(
                    "Restored the lost record of an agent its worker runs",
                    metadata: ["agent_id": "\(entry.agentID)", "process_id": "\(entry.processID)"])
            }
        }
        for entry in plan.duplicates
        where try await registry.detachDuplicate(agentID: entry.agentID, processID: entry.processID, fence: fence) {
            logger.warning(
                "Detached a second copy of an agent", metadata: ["agent_id": "\(entry.agentID)", "process_id": "\(entry.processID)"])
        }
        for placement in plan.toStop {
            try await registry.publishCommand(
                .stopAgent(StopAgent(targetProcessID: placement.processID, epoch: epoch, agentID: placement.agentID)), fence: fence)
        }
        return stillPlaced
    }
}
