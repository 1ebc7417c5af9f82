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
        } while reconcileRequested
    }

    private func reconcilePass() async {
        do {
            let now = Date()
            // Placements first, workers second: a worker that registers and claims agents in
            // between then appears in the worker snapshot, so its agents are never taken for
            // orphans of a worker that does not exist.
            let placed = try await registry.placements()
            var workers = try await registry.workers()
            for dead in workers where Liveness.isStale(lastHeartbeat: dead.lastHeartbeat, now: now, staleAfter: limits.staleAfter) {
                await heal(deadWorker: dead.processID)
            }
            workers.removeAll { Liveness.isStale(lastHeartbeat: $0.lastHeartbeat, now: now, staleAfter: limits.staleAfter) }

            for worker in workers { await launcher?.registered(worker.processID) }
            let clock = ContinuousClock.now
            inFlight = inFlight.filter { $0.value.deadline > clock }
            let shouldRun = try await store.shouldRun(pool: definition.name).filter { $0.status != .failed }
            metrics.recordAgents(shouldRun)
            metrics.heartbeatAge.record(workers.map { now.timeIntervalSince($0.lastHeartbeat) }.max() ?? 0)
            let specs = Dictionary(shouldRun.map { ($0.id, $0.spec) }, uniquingKeysWith: { first, _ in first })
            let plan = ReconcilePlan.make(
                shouldRun: Set(specs.keys), placed: placed,
                reserved: Set(inFlight.keys).union(waiting.map(\.agentID)),
                liveWorkers: Set(workers.map(\.processID)))

            // An "orphan" whose worker turns out to be registered after all stays where it is.
            var stillPlaced: Set<String> = []
            for orphan in plan.orphaned where !(try await registry.releaseOrphan(agentID: orphan.agentID, processID: orphan.processID)) {
                stillPlaced.insert(orphan.agentID)
            }
            for placement in plan.toStop {
                try await registry.publishCommand(
                    .stopAgent(StopAgent(targetProcessID: placement.processID, epoch: epoch, agentID: placement.agentID)))
            }
            metrics.reconcileRepairs.increment(by: plan.toPlace.count + plan.toStop.count + plan.orphaned.count)
            if !plan.isEmpty {
                logger.info(
                    "Reconcile repairs",
                    metadata: ["place": "\(plan.toPlace.count)", "stop": "\(plan.toStop.count)", "orphaned": "\(plan.orphaned.count)"])
            }
            // Restoring thousands of agents at once would stampede the workers and PgBouncer:
            // at most `maxStartsInFlight` unconfirmed starts; confirmations pull in the rest.
            let room = max(0, Self.maxStartsInFlight - inFlight.count - waiting.count)
            let toPlace = plan.toPlace.filter { !stillPlaced.contains($0) }
            for agentID in toPlace.prefix(room) {
                if let spec = specs[agentID] { await place(spec) }
            }
            hasBacklog = toPlace.count > room
            try await keepMinimumWorkers(liveWorkers: workers.count)
            await retireIdleWorkers(workers)
            try await publishDesiredWorkers(workers: workers)
        } catch {
            logger.warning("Reconcile pass failed; retrying on the next one", metadata: ["error": "\(error)"])
        }
    }

    /// Removes a dead worker's registry entries and marks its agents unplaced, so that this
    /// pass places them again with the same id, name and metadata.
    func heal(deadWorker processID: String) async {
        // Starts on the way to that worker will never be confirmed: place them again now.
        inFlight = inFlight.filter { $0.value.processID != processID }
        emptySince.removeValue(forKey: processID)
        retiring.remove(processID)
        await launcher?.killIfOwnChild(processID)
        do {
            let agents = try await registry.deregister(processID: processID)
            guard !agents.isEmpty else { return }
            metrics.failovers.increment()
            for agentID in agents { try await store.markUnplaced(id: agentID, processID: processID) }
            logger.warning(
                "Declared worker dead; placing its agents again",
                metadata: ["process_id": "\(processID)", "agents": "\(agents.count)"])
        } catch {
            logger.error("Healing failed", metadata: ["process_id": "\(processID)", "error": "\(error)"])
        }
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
        _ = try await registry.redis.send(
            "HSET", RedisKeys.poolState(definition.name), "desired_workers", String(desired), "epoch", String(epoch))
    }
}
