#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import EventLoopExecution
import Logging
import Metrics
import PoolConfig
import PoolCore
import PoolProtocol
import Registry
import TaskStore

/// The leader's care for its pool's tasks, on a timer: attempts whose worker is gone for good
/// end as lost (and run again), so that no task stays `running` without a live owner even when
/// its agent is not placed again; finished tasks older than `task_retention` are removed; the
/// task gauges are refreshed; the task streams of agents that ended are deleted (whoever ended
/// the agent deletes its stream too, but a worker that died, or a stream a worker's reader
/// made again in a race, would leave one behind).
///
/// A worker counts as gone once it has been missing from the registry for `stale_after`: a
/// Redis that restarted without its data shows no workers at all until they register again
/// (within a heartbeat), and their attempts must not be retried for that.
actor TaskUpkeep {
    private let definition: PoolDefinition
    private let registry: PoolRegistry
    private let store: TaskStore
    private let queue: TaskQueue
    private let logger: Logger
    /// Owners of running attempts missing from the registry, since when.
    private var missingSince: [String: ContinuousClock.Instant] = [:]
    /// The first pass of a leadership looks a day back for ended agents, later ones a minute.
    private var streamWindow: Duration = .seconds(86_400)

    init(definition: PoolDefinition, registry: PoolRegistry, store: TaskStore, queue: TaskQueue, logger: Logger) {
        self.definition = definition
        self.registry = registry
        self.store = store
        self.queue = queue
        self.logger = logger
    }

    /// One pass every `interval` until cancelled.
    func run(every interval: Duration) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval, clock: .eventLoop) } catch { return }
            await pass()
        }
    }

    func pass() async {
        do {
            try await settleGoneOwners()
            let ended = try await store.endedAgents(pool: definition.name, within: streamWindow)
            try await queue.remove(agentIDs: ended)
            streamWindow = .seconds(60)
            let purged = try await store.purgeFinished(pool: definition.name, retention: definition.tasks.taskRetention)
            if purged > 0 { logger.info("Removed finished tasks past their retention", metadata: ["count": "\(purged)"]) }
            let counts = try await store.counts()[definition.name] ?? [:]
            for status in [TaskStatus.queued, .running] {
                Gauge(label: "agentpool_tasks", dimensions: [("pool", definition.name), ("status", status.rawValue)])
                    .record(counts[status] ?? 0)
            }
        } catch {
            logger.warning("Task upkeep failed; retrying on the next pass", metadata: ["error": "\(error)"])
        }
    }

    private func settleGoneOwners() async throws {
        let registered = Set(try await registry.workers().map(\.processID))
        let running = try await store.list(TaskFilter(pool: definition.name, status: .running, limit: 1000))
        let owners = Set(running.compactMap(\.owner))
        let now = ContinuousClock.now
        missingSince = missingSince.filter { owners.contains($0.key) && !registered.contains($0.key) }
        for owner in owners.subtracting(registered) where missingSince[owner] == nil { missingSince[owner] = now }
        let gone = Set(missingSince.filter { now - $0.value >= definition.staleAfter }.keys)
        guard !gone.isEmpty else { return }
        let settled = try await store.settleLostAttempts(pool: definition.name, liveProcesses: owners.subtracting(gone).union(registered))
        for record in settled {
            // A wake-up only: waiters poll PostgreSQL too.
            try? await queue.publishUpdate(record.updateMessage, pool: definition.name)
        }
        if !settled.isEmpty {
            logger.warning("Settled attempts of workers that are gone", metadata: ["count": "\(settled.count)", "workers": "\(gone.count)"])
        }
        for owner in gone { missingSince[owner] = nil }
    }
}
