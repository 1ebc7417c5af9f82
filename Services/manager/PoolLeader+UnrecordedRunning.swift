import AgentStore
import CoreMetrics
import Logging
import PoolCore
import PoolProtocol
import Registry

/// The repair that makes the worker's `running` record safe to commit asynchronously
/// (`AgentStore.markRunningSQL`): after a PostgreSQL crash lost it, the row of an agent that
/// runs says `pending` or `starting` (and no worker), while the registry places the agent
/// on a live worker. Reconcile then does not place it again (it runs), so the leader asks
/// that worker to record it again: `start_agent` to an agent it hosts makes it write `running`
/// and announce the agent once more (`AgentHost.confirmAgain`).
extension PoolLeader {
    /// Sends `start_agent` to the worker of each agent whose row has not said `running` on two
    /// passes in a row: a row between a worker's claim and its record (a child that is still
    /// starting) is skipped once, and a command for one that is still starting is ignored.
    func confirmUnrecordedRunning(_ shouldRun: [AgentRecord], placements: [String: String], live: Set<String>) async throws {
        let inHand = Set(machine.placingAgents).union(machine.unconfirmedStarts.keys)
        var seen: [String: String] = [:]
        var specs: [String: AgentSpec] = [:]
        for record in shouldRun where record.status == .pending || record.status == .starting {
            guard let worker = placements[record.id], live.contains(worker), !inHand.contains(record.id),
                record.processID == nil || record.processID == worker
            else { continue }
            seen[record.id] = worker
            specs[record.id] = record.spec
        }
        let previous = repairs.unrecordedRunning
        repairs.unrecordedRunning = seen
        for (agentID, worker) in seen.sorted(by: { $0.key < $1.key }) where previous[agentID] == worker {
            guard let spec = specs[agentID] else { continue }
            try await registry.publishCommand(
                .startAgent(StartAgent(targetProcessID: worker, epoch: fence.epoch, agent: spec)), fence: fence)
            metrics.reconcileRepairs.increment()
            logger.warning(
                "Asked a worker to record again an agent it runs (its row did not say running)",
                metadata: ["agent_id": "\(agentID)", "process_id": "\(worker)"])
        }
    }
}
