import AgentStore
import CoreMetrics
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

extension PoolLeader {
    /// One reconcile pass: heal dead workers, make the registry match PostgreSQL, keep
    /// `min_workers` running and publish how many workers the pool wants. Run on a timer,
    /// at the start of a leadership and after reconnecting, so that nothing depends on one
    /// pub/sub message arriving.
    func reconcile() async {
        // One pass at a time: a request during a pass makes it run once more afterwards.
        guard !isReconciling else {
            reconcileRequested = true
            return
        }
        isReconciling = true
        defer { isReconciling = false }
        repeat {
            reconcileRequested = false
            await reconcilePass()
        } while reconcileRequested && !isDeposed
    }

    /// The subscription to the pool's channels is (again) in place. After a loss, messages
    /// may have been missed and heartbeats delayed: reconcile, and declare nobody dead for
    /// `stale_after`.
    func subscribed(afterLoss: Bool) async {
        if afterLoss { startLivenessGrace("the Redis subscription was re-established") }
        await reconcile()
    }

    /// No worker is declared dead for missing heartbeats during the next `stale_after`.
    func startLivenessGrace(_ why: String) {
        livenessGraceUntil = max(livenessGraceUntil, .now + limits.staleAfter)
        logger.info("Declaring no worker dead for stale_after", metadata: ["why": "\(why)", "stale_after": "\(limits.staleAfter)"])
    }

    private func reconcilePass() async {
        guard !isDeposed else { return }
        do {
            let snapshot = try await registry.snapshot()
            if registryTrouble {
                registryTrouble = false
                startLivenessGrace("the registry is reachable again")
            }
            var workers = snapshot.workers
            if ContinuousClock.now >= livenessGraceUntil {
                let stale = Set(workers.filter { isStale($0, snapshot) }.map(\.processID))
                for processID in stale.sorted() { await heal(deadWorker: processID) }
                workers.removeAll { stale.contains($0.processID) }
            }
            for stuck in stuckDraining(workers) {
                logger.warning("Worker stays draining with agents; healing it", metadata: ["process_id": "\(stuck)"])
                await heal(deadWorker: stuck)
                workers.removeAll { $0.processID == stuck }
            }
            guard !isDeposed else { return }

            for worker in workers { await launcher?.registered(worker.processID) }
            let clock = ContinuousClock.now
            inFlight = inFlight.filter { $0.value.deadline > clock }
            let waitingBefore = Set(waiting.map(\.spec.agentID)), inFlightBefore = Set(inFlight.keys)
            let rows = try await store.unsettled(pool: definition.name)
            let shouldRun = rows.filter { $0.desiredState == .running && $0.status != .failed }
            let shouldRunIDs = Set(shouldRun.map(\.id))
            // Entries whose rows no longer should run (a DELETE of a waiting agent, a refusal by
            // a previous leader) leave the leader's lists; entries added during the read stay.
            waiting.removeAll { waitingBefore.contains($0.spec.agentID) && !shouldRunIDs.contains($0.spec.agentID) }
            inFlight = inFlight.filter { !inFlightBefore.contains($0.key) || shouldRunIDs.contains($0.key) }
            metrics.recordAgents(shouldRun)
            metrics.heartbeatAge.record(workers.compactMap { snapshot.heartbeatAges[$0.processID] }.max() ?? 0)

            let live = Set(workers.map(\.processID))
            let unsettled = try await settleRowsNamingGoneWorkers(rows, live: live)
            let records = Dictionary(shouldRun.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            let plan = ReconcilePlan.make(
                shouldRun: shouldRunIDs, registry: snapshot.placements,
                reserved: Set(inFlight.keys).union(waiting.map(\.spec.agentID)), liveWorkers: live)
            let stillPlaced = try await repair(plan, records: records)
            try await stopUnfinishedStops(rows.filter { $0.desiredState == .terminated }, plan: plan, live: live)
            let repairs = plan.toPlace.count + plan.toStop.count + plan.orphaned.count + plan.unattributed.count
                + plan.unrecorded.count + plan.duplicates.count
            metrics.reconcileRepairs.increment(by: repairs)
            if !plan.isEmpty {
                logger.info(
                    "Reconcile repairs",
                    metadata: [
                        "place": "\(plan.toPlace.count)", "stop": "\(plan.toStop.count)", "orphaned": "\(plan.orphaned.count)",
                        "unattributed": "\(plan.unattributed.count)", "unrecorded": "\(plan.unrecorded.count)",
                        "duplicates": "\(plan.duplicates.count)",
                    ])
            }
            // Agents kept waiting for capacity (placed again after their worker died) are
            // retried on every pass, launches backing off as the launcher says.
            await placeWaiting()
            // Restoring thousands of agents at once would stampede the workers and PgBouncer:
            // at most `maxStartsInFlight` unconfirmed starts; confirmations pull in the rest.
            let room = max(0, Self.maxStartsInFlight - inFlight.count - waiting.count)
            // A row still held by a worker that may live is not placed again yet: its start would
            // be refused (the row is that worker's), and the agent may run there.
            let toPlace = plan.toPlace.filter { agentID in
                !stillPlaced.contains(agentID) && !(records[agentID]?.processID.map(unsettled.contains) ?? false)
            }
            for agentID in toPlace.prefix(room) {
                guard let record = records[agentID] else { continue }
                // A row that never ran is still its spawn request (its place_agent was lost, or
                // went to a previous leader): it may be refused. One that ran never is.
                await place(record.spec, isSpawnRequest: record.firstRunningAt == nil)
            }
            hasBacklog = toPlace.count > room
            guard !isDeposed else { return }
            try await keepMinimumWorkers(liveWorkers: workers.count)
            await retireIdleWorkers(workers)
            try await publishDesiredWorkers(workers: workers)
        } catch {
            if error is RedisError { registryTrouble = true }
            if error is LeaseLost || error is LeadershipLost {
                failed(error, "Reconcile pass refused")
            } else {
                logger.warning("Reconcile pass failed; retrying on the next one", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Whether `worker`'s heartbeat, measured on Redis' clock, is older than `stale_after`.
    private func isStale(_ worker: WorkerSnapshot, _ snapshot: RegistrySnapshot) -> Bool {
        guard let age = snapshot.heartbeatAges[worker.processID] else { return false }
        return Liveness.isStale(heartbeatAge: age, staleAfter: limits.staleAfter)
    }

    private func keepMinimumWorkers(liveWorkers: Int) async throws {
        guard let launcher else { return }
        await launcher.expireLaunches(olderThan: max(.seconds(15), limits.staleAfter))
        let missing = limits.minWorkers - liveWorkers - (await launcher.inFlight)
        guard missing > 0 else { return }
        logger.info("Starting workers to keep min_workers", metadata: ["launching": "\(missing)", "min_workers": "\(limits.minWorkers)"])
        for _ in 0..<missing {
            _ = try await launcher.launch()
            metrics.launches.increment()
        }
    }

    /// Publishes `desired_workers` for the pool stats (and for orchestrators under
    /// `launcher: external`).
    private func publishDesiredWorkers(workers: [WorkerSnapshot]) async throws {
        let used = workers.reduce(0) { $0 + $1.usedSlots }
        let desired = ScalingPolicy.desiredWorkers(agentsWanted: used + waiting.count, limits: limits)
        metrics.desiredWorkers.record(desired)
        metrics.workers.record(workers.count)
        metrics.freeSlots.record(workers.filter { $0.status == .ready }.reduce(0) { $0 + max(0, $1.freeSlots) })
        metrics.agents.record(workers.reduce(0) { $0 + $1.agentCount })
        try await registry.publishState(desiredWorkers: desired, fence: fence)
    }
}
