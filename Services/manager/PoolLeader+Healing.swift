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
import Redis
import Registry

extension PoolLeader {
    /// Removes a dead worker's registry entries and settles every row that names it (rows that
    /// should run become `pending`, so this pass places them again with the same id, name and
    /// metadata; rows being stopped become `terminated`, announced to their waiting DELETE).
    func heal(deadWorker processID: String) async {
        guard !isDeposed else { return }
        // Starts on the way to that worker will never be confirmed: place them again now.
        inFlight = inFlight.filter { $0.value.processID != processID }
        emptySince.removeValue(forKey: processID)
        drainingSince.removeValue(forKey: processID)
        retiring.remove(processID)
        await launcher?.killIfOwnChild(processID)
        do {
            let agents = try await registry.deregisterDead(processID: processID, fence: fence)
            let released = try await settleRows(ofGoneWorker: processID)
            guard !agents.isEmpty || !released.isEmpty else { return }
            metrics.failovers.increment()
            logger.warning(
                "Declared worker dead; placing its agents again",
                metadata: [
                    "process_id": "\(processID)", "agents": "\(agents.count)",
                    "stops_ended": "\(released.filter(\.terminated).count)",
                ])
        } catch {
            failed(error, "Healing failed", ["process_id": "\(processID)"])
        }
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

    /// Rows that name a worker that is not live (healed by an earlier pass or leader whose
    /// write did not happen, or gone without a trace) are settled, so that their agents can
    /// be placed again (a worker's start is refused on a row another worker holds) and their
    /// stops end. The worker's absence is checked in Redis after the rows were read.
    func settleRowsNamingGoneWorkers(_ rows: [AgentRecord], live: Set<String>) async throws {
        let named = Set(rows.compactMap(\.processID)).subtracting(live).sorted()
        guard !named.isEmpty else { return }
        let exists = try await registry.redis.pipeline(named.map { ["EXISTS", RedisKeys.process($0)] })
        for (processID, reply) in zip(named, exists) where reply.int == 0 {
            try await settleRows(ofGoneWorker: processID)
        }
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
            let since = drainingSince[worker.processID] ?? now
            seen[worker.processID] = since
            if now - since > bound { stuck.append(worker.processID) }
        }
        drainingSince = seen
        return stuck
    }
}
