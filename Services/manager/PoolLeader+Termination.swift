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
        guard !isDeposed else { return }
        // Waiting or starting, it should not run any more (a worker's late start is refused
        // by the row): forget it, so that it counts for no capacity.
        waiting.removeAll { $0.spec.agentID == agentID }
        inFlight.removeValue(forKey: agentID)
        do {
            switch try await registry.stopPlacedAgent(agentID, fence: fence) {
            case .sent, .notListening:
                // A worker not listening is dead or reconnecting: reconcile heals it or sends the
                // stop again.
                return
            case .notPlaced:
                try await stopByRecord(agentID: agentID)
            }
        } catch {
            failed(error, "Termination not sent; the next reconcile pass retries", ["agent_id": "\(agentID)"])
        }
    }

    /// The registry lost the agent's placement (an emptied Redis, a bug), but its row may still
    /// name the worker that runs it: send the stop there. When that worker is gone nothing can
    /// run the agent any more (a worker that finds its registration gone stops its agents), so
    /// the leader settles the worker's rows itself and announces the termination.
    private func stopByRecord(agentID: String) async throws {
        guard let record = try await store.fetch(id: agentID), !record.status.isFinal, record.desiredState == .terminated
        else { return }
        guard let processID = record.processID else {
            try await store.terminateUnhosted(id: agentID, fence: epochFence)
            return
        }
        let stop = StopAgent(targetProcessID: processID, epoch: epoch, agentID: agentID)
        if try await registry.publishCommand(.stopAgent(stop), fence: fence) > 0 {
            logger.warning(
                "Agent not placed in the registry; stop sent to the worker its row names",
                metadata: ["agent_id": "\(agentID)", "process_id": "\(processID)"])
            return
        }
        // Not listening but registered: its subscription is reconnecting; reconcile retries.
        guard try await registry.redis.send("EXISTS", RedisKeys.process(processID)).int == 0 else { return }
        try await settleRows(ofGoneWorker: processID)
    }
}
