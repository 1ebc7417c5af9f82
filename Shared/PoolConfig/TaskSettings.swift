/// How a pool treats its agents' tasks (contract section 5); set per pool or in `defaults`.
public struct TaskSettings: Sendable, Equatable {
    /// Time one attempt may run (`task_timeout`), unless the task sets its own.
    public var taskTimeout: Duration
    /// Attempts before a task ends failed or timed out (`max_attempts`), unless the task sets its own.
    public var maxAttempts: Int
    /// Unfinished tasks per agent; beyond, a submit answers 429 (`max_queued_tasks`).
    public var maxQueuedTasks: Int
    /// Tasks one agent runs at once (`task_concurrency`).
    public var taskConcurrency: Int
    /// How long a finished task stays listed (`task_retention`).
    public var taskRetention: Duration

    public init(
        taskTimeout: Duration = .seconds(300), maxAttempts: Int = 3, maxQueuedTasks: Int = 100,
        taskConcurrency: Int = 1, taskRetention: Duration = .seconds(604_800)
    ) {
        self.taskTimeout = taskTimeout
        self.maxAttempts = maxAttempts
        self.maxQueuedTasks = maxQueuedTasks
        self.taskConcurrency = taskConcurrency
        self.taskRetention = taskRetention
    }
}
