import AgentStore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PoolConfig
import PoolCore
import PoolProtocol
import Redis
import Registry

/// Repairs of a snapshot the machine does not model: rows naming workers gone from Redis, and
/// draining workers that never finish leaving.
extension PoolLeader {
    /// Rows that name a worker that is not live (healed by an earlier pass or leader whose
    /// write did not happen, or gone without a trace) are settled, so that their agents can
    /// be placed again (a worker's start is refused on a row another worker holds) and their
    /// stops end. Checked in Redis after the rows were read: a worker registered since the
    /// snapshot is in `pool:<name>:processes` again; a live worker whose entry there was lost
    /// puts it back with its next heartbeat, so a leftover `process:<id>` hash counts as gone
    /// only once its heartbeat is older than `stale_after` (and not during the liveness grace).
    /// Returns the workers not live whose rows were left as they are (they may still run
    /// their agents): those agents are not placed again in this pass.
    func settleRowsNamingGoneWorkers(_ rows: [AgentRecord], live: Set<String>) async throws -> Set<String> {
        let named = Set(rows.compactMap(\.processID)).subtracting(live).sorted()
        guard !named.isEmpty else { return [] }
        var unsettled: Set<String> = []
        let departures = try await registry.departures(named)
        let graceOver = ContinuousClock.now >= repairs.graceUntil
        for processID in named {
            switch departures[processID] ?? .gone {
            case .registered:  // registered (again)
                unsettled.insert(processID)
                continue
            case .leftover(let age):
                guard graceOver, Liveness.isStale(heartbeatAge: age, staleAfter: limits.staleAfter) else {
                    unsettled.insert(processID)
                    continue
                }
            case .gone:
                break
            }
            try await settleRows(ofGoneWorker: processID)
        }
        return unsettled
    }

    /// Ends the stops that no placement covers: a row being stopped whose live worker no
    /// longer lists it is sent `stop_agent` again (the worker records it terminated); one no
    /// worker names is recorded terminated here. (Rows naming a gone worker were settled.)
    func stopUnfinishedStops(_ stopping: [AgentRecord], plan: ReconcilePlan, live: Set<String>) async throws {
        let covered = Set(plan.toStop.map(\.agentID))
        for record in stopping where !covered.contains(record.id) {
            if let processID = record.processID {
                guard live.contains(processID) else { continue }  // settled above
                try await registry.publishCommand(
                    .stopAgent(StopAgent(targetProcessID: processID, epoch: epoch, agentID: record.id)), fence: fence)
            } else {
                // No worker to name in an `agent_stopped`: a waiting DELETE reads the row instead.
                try await store.terminateUnhosted(id: record.id, fence: epochFence)
            }
        }
    }

    /// Draining workers that keep hosting agents longer than a graceful hand-over takes (a
    /// previous leader began retiring them, or their shutdown wedged): healed, so that their
    /// agents run elsewhere and the worker, finding its registration gone, stops them and
    /// registers afresh.
    func stuckDraining(_ workers: [WorkerSnapshot]) -> [String] {
        let now = ContinuousClock.now
        let bound = max(Duration.seconds(10), limits.staleAfter * 2)
        var stuck: [String] = []
        var seen: [String: ContinuousClock.Instant] = [:]
        for worker in workers where worker.status == .draining && worker.agentCount > 0 {
            let since = repairs.drainingSince[worker.processID] ?? now
            seen[worker.processID] = since
            if now - since > bound { stuck.append(worker.processID) }
        }
        repairs.drainingSince = seen
        return stuck
    }
}
