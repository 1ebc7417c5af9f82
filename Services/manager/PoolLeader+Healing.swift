import AgentStore
import CoreMetrics
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PoolCore
import PoolProtocol
import Registry

/// Healing a worker declared dead.
extension PoolLeader {
    /// Removes a dead worker's registry entries and settles every row that names it (rows that
    /// should run become `pending`, placed again by the pass that follows; rows being stopped
    /// become `terminated`, announced to their waiting DELETE). A heal for heartbeat age
    /// (`onlyIfStale`) changes nothing when the script finds the heartbeat fresh again: the
    /// worker resumed and keeps its agents. A process exit is healed unconditionally.
    func heal(_ processID: String, onlyIfStale: Bool) async throws -> HealOutcome {
        let bound = onlyIfStale ? limits.staleAfter : nil
        guard let agents = try await registry.deregisterDead(processID: processID, fence: fence, onlyIfStaleAfter: bound) else {
            logger.info("Worker heartbeats again; it keeps its agents", metadata: ["process_id": "\(processID)"])
            return .alive
        }
        // It stopped answering: a child of this manager gets no chance to run anything further.
        await launcher?.killIfOwnChild(processID)
        let released = try await settleRows(ofGoneWorker: processID)
        if !agents.isEmpty || !released.isEmpty {
            metrics.failovers.increment()
            logger.warning(
                "Declared worker dead; placing its agents again",
                metadata: [
                    "process_id": "\(processID)", "agents": "\(agents.count)",
                    "stops_ended": "\(released.filter(\.terminated).count)",
                ])
        }
        return .healed
    }

    /// Settles the rows of a worker that is gone from the registry: what should run waits for
    /// placement, what was being stopped is `terminated` (nothing can run it any more: a worker
    /// that finds its registration gone stops its agents first) and announced.
    @discardableResult
    func settleRows(ofGoneWorker processID: String) async throws -> [ReleasedAgent] {
        let released = try await store.releaseWorker(processID, fence: epochFence)
        for agent in released where agent.terminated {
            let stopped = AgentEvent(processID: processID, agentID: agent.id, updatedAt: Timestamp.string(agent.updatedAt))
            try await registry.publish(.agentStopped(stopped), on: .events)
            logger.warning(
                "Agent's worker is gone; recorded it terminated", metadata: ["agent_id": "\(agent.id)", "process_id": "\(processID)"])
        }
        return released
    }
}
