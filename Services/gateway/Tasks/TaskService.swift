import AgentStore
import Logging
import PoolConfig
import PoolProtocol
import Registry
import TaskStore

/// The task API's work behind the routes (contract section 5): submit, read, list, cancel
/// and follow tasks. PostgreSQL (`TaskStore`) holds the truth; Redis (`TaskQueue`) carries
/// deliveries and wake-ups fast. Every answer is bounded (`AnswerDeadline`): a request that
/// learnt its task answers it as last read when a dependency hangs, else 504.
struct TaskService: Sendable {
    let pools: [PoolDefinition]
    let agents: AgentStore
    let store: TaskStore
    let queue: TaskQueue
    let watcher: TaskWatcher
    let settings: TaskAPISettings
    let logger: Logger
    /// The task settings every pool shares, if they all agree (the usual case: the file's
    /// defaults): then an agent submit needs no read of the agent's pool first.
    let uniformSettings: TaskSettings?

    init(
        pools: [PoolDefinition], agents: AgentStore, store: TaskStore, queue: TaskQueue, wakeups: Mailboxes<TaskUpdated>,
        settings: TaskAPISettings, logger: Logger
    ) {
        self.pools = pools
        self.agents = agents
        self.store = store
        self.queue = queue
        self.settings = settings
        self.logger = logger
        watcher = TaskWatcher(store: store, wakeups: wakeups, pollInterval: settings.pollInterval, logger: logger)
        uniformSettings = Set(pools.map { Self.limits($0.tasks) }).count == 1 ? pools.first?.tasks : nil
    }

    /// The bound of an answer that waits up to `wait` (nil: no waiting).
    func answerLimit(waiting wait: Duration?) -> Duration {
        (wait ?? settings.answerTimeout) + settings.answerMargin
    }

    /// Runs `work` within `limit`; past it, answers the task `work` read last, or 504.
    func bounded(
        within limit: Duration, submitting: Bool = false,
        _ work: @escaping @Sendable (LatestRead<TaskRecord>) async throws -> TaskRecord
    ) async throws -> TaskRecord {
        let latest = LatestRead<TaskRecord>()
        return try await AnswerDeadline.run(
            within: limit,
            fallback: { latest.latest.map { .success($0) } ?? .failure(TaskErrors.dependencyTimeout(limit, submitting: submitting)) },
            { try await work(latest) })
    }

    /// The task by id (404 when unknown), waiting up to `wait` for it to end.
    func task(_ taskID: String, wait: Duration?) async throws -> TaskRecord {
        let started = ContinuousClock.now
        return try await bounded(within: answerLimit(waiting: wait)) { latest in
            try await watcher.watching(taskID) {
                guard let task = try await store.fetch(taskID: taskID) else { throw TaskErrors.taskNotFound(taskID) }
                latest.record(task)
                guard let wait else { return task }
                return await watcher.awaitFinal(task, until: started + wait, latest: latest)
            }
        }
    }

    /// Tasks matching `filter`, newest first.
    func list(_ filter: TaskFilter) async throws -> [TaskRecord] {
        let limit = answerLimit(waiting: nil)
        return try await AnswerDeadline.run(within: limit, timeout: { TaskErrors.dependencyTimeout(limit) }) {
            try await store.list(filter)
        }
    }

    /// Tells the pool's gateways that the task changed (best effort: waiters poll too).
    func announce(_ task: TaskRecord) async {
        do {
            try await queue.publishUpdate(task.updateMessage, pool: task.poolName)
        } catch {
            logger.warning("Could not announce a task update", metadata: ["task_id": "\(task.taskID)", "error": "\(error)"])
        }
    }
}
