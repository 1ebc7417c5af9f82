#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Metrics
import PoolProtocol
import TaskStore

/// What a worker reports about the tasks it runs (docs/operations.md lists them).
struct TaskMetrics: Sendable {
    let pool: String
    /// Attempts that failed and were queued again.
    let retries: Counter
    /// Exits of agents' child processes (each followed by a restart, or the agent's failure).
    let runtimeRestarts: Counter

    init(pool: String) {
        self.pool = pool
        retries = Counter(label: "agentpool_task_retries_total", dimensions: [("pool", pool)])
        runtimeRestarts = Counter(label: "agentpool_runtime_restarts_total", dimensions: [("pool", pool)])
    }

    /// A task ended: counted by outcome, with the time from its acceptance to its end.
    func finished(_ record: TaskRecord) {
        let outcome = record.status.rawValue
        Counter(label: "agentpool_tasks_finished_total", dimensions: [("pool", pool), ("outcome", outcome)]).increment()
        let seconds = (record.finishedAt ?? Date()).timeIntervalSince(record.createdAt)
        Timer(label: "agentpool_task_duration_seconds", dimensions: [("pool", pool), ("outcome", outcome)])
            .recordNanoseconds(Int64(max(seconds, 0) * 1e9))
    }
}
