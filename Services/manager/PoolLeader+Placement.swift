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

/// Placing agents, refusing spawns nothing can host, launching workers.
extension PoolLeader {
    /// Reserves a slot and sends `start_agent` in one fenced script.
    func reserveAndStart(_ spec: AgentSpec) async throws -> ReserveOutcome {
        let deadline = Date().addingTimeInterval(machine.tuning.startTimeout.seconds)
        guard let processID = try await registry.reserveAndStart(spec, fence: fence, deadline: deadline) else { return .noFreeSlot }
        metrics.placements.increment()
        logger.info("Placed agent", metadata: ["agent_id": "\(spec.agentID)", "process_id": "\(processID)"])
        return .placed(processID: processID)
    }

    /// Deletes the row of a spawn no worker ever confirmed and tells its gateway, only if a
    /// row was deleted: one that ran meanwhile is no refusal any more (the next pass finds it).
    func refuse(_ agentID: String, reason: String) async throws {
        guard try await store.deleteRefused(id: agentID, fence: epochFence) else { return }
        metrics.refusals.increment()
        logger.warning("Refused spawns: pool full", metadata: ["agent_id": "\(agentID)", "reason": "\(reason)"])
        try await registry.publish(
            .agentFailed(AgentFailed(processID: nil, agentID: agentID, reason: reason, retryable: true)), on: .events)
    }

    /// Starts up to `count` workers; a launch refused (backing off, or the executable does not
    /// start) ends the round, and the reply tells how many started.
    func launch(_ count: Int) async -> LaunchOutcome {
        guard let launcher else { return LaunchOutcome(requested: count, started: []) }
        // The machine launches for waiting agents, or to keep `min_workers`.
        if machine.waitingAgents.isEmpty {
            logger.info("Starting workers to keep min_workers", metadata: ["launching": "\(count)", "min_workers": "\(limits.minWorkers)"])
        } else {
            logger.info("Scaling up", metadata: ["launching": "\(count)", "waiting": "\(machine.waitingAgents.count)"])
        }
        var started: [String] = []
        for _ in 0..<count {
            do {
                started.append(try await launcher.launch())
                metrics.launches.increment()
            } catch {
                metrics.launchFailures.increment()
                logger.warning("Could not launch a worker", metadata: ["error": "\(error)"])
                break
            }
        }
        return LaunchOutcome(requested: count, started: started)
    }
}
