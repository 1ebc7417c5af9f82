import AgentStore
import Logging
import PoolProtocol
import Redis
import Registry

extension PoolLeader {
    /// Sends `stop_agent` to the worker hosting `agentID`. The registry is asked first (one
    /// script looks the worker up and publishes); when it places the agent nowhere, the agent's
    /// PostgreSQL row is, so that a lost placement never leaves a DELETE waiting out its timeout.
    func terminate(agentID: String) async {
        waiting.removeAll { $0.agentID == agentID }
        do {
            switch try await registry.stopPlacedAgent(agentID, epoch: epoch) {
            case .sent, .notListening:
                // A worker not listening is dead or reconnecting: reconcile heals it or sends the
                // stop again.
                return
            case .notPlaced:
                try await stopByRecord(agentID: agentID)
            }
        } catch {
            logger.error("Termination not sent; the next reconcile pass retries", metadata: ["agent_id": "\(agentID)", "error": "\(error)"])
        }
    }

    /// The registry lost the agent's placement (an emptied Redis, a bug), but its row may still
    /// name the worker that runs it: send the stop there. When that worker is gone nothing can
    /// run the agent any more (a worker that finds its registration gone stops its agents), so
    /// the leader records the termination itself and announces it.
    private func stopByRecord(agentID: String) async throws {
        guard let record = try await store.fetch(id: agentID), !record.status.isFinal, let processID = record.processID else { return }
        let stop = StopAgent(targetProcessID: processID, epoch: epoch, agentID: agentID)
        if try await registry.publishCommand(.stopAgent(stop)) > 0 {
            logger.warning(
                "Agent not placed in the registry; stop sent to the worker its row names",
                metadata: ["agent_id": "\(agentID)", "process_id": "\(processID)"])
            return
        }
        // Not listening but registered: its subscription is reconnecting; a repeated DELETE retries.
        guard try await registry.redis.send("EXISTS", RedisKeys.process(processID)).int == 0 else { return }
        let updatedAt = try await store.markTerminated(id: agentID)
        let stopped = AgentEvent(processID: processID, agentID: agentID, updatedAt: updatedAt.map(Timestamp.string))
        try await registry.publish(.agentStopped(stopped), on: .events)
        logger.warning(
            "Agent's worker is gone; recorded it terminated", metadata: ["agent_id": "\(agentID)", "process_id": "\(processID)"])
    }
}
