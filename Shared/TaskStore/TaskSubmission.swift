import PoolProtocol

/// What a submit asks for (the request body, and its `Idempotency-Key`).
public struct TaskSubmission: Sendable, Hashable {
    public var input: JSONValue
    /// Seconds one attempt may run; nil: the pool's `task_timeout`.
    public var timeout: Double?
    /// nil: the pool's `max_attempts`.
    public var maxAttempts: Int?
    /// Scoped to the agent for agent submits, to the pool for pool submits.
    public var idempotencyKey: String?

    public init(input: JSONValue, timeout: Double? = nil, maxAttempts: Int? = nil, idempotencyKey: String? = nil) {
        self.input = input
        self.timeout = timeout
        self.maxAttempts = maxAttempts
        self.idempotencyKey = idempotencyKey
    }
}

/// The pool settings a submit is checked against (from `TaskSettings`).
public struct TaskLimits: Sendable, Hashable {
    /// Seconds, for a submission without its own `timeout`.
    public var defaultTimeout: Double
    public var defaultMaxAttempts: Int
    /// Unfinished tasks per agent, exactly.
    public var maxQueued: Int

    public init(defaultTimeout: Double, defaultMaxAttempts: Int, maxQueued: Int) {
        self.defaultTimeout = defaultTimeout
        self.defaultMaxAttempts = defaultMaxAttempts
        self.maxQueued = maxQueued
    }
}

/// What a submit did. Every refusal created nothing.
public enum SubmitOutcome: Sendable, Hashable {
    /// A new task, committed.
    case accepted(TaskRecord)
    /// The idempotency key was used before with the same body: the first task, as it is now.
    case replayed(TaskRecord)
    /// The idempotency key was used before with another body (409 `idempotency_key_conflict`).
    case keyConflict
    /// No such agent (404 `agent_not_found`).
    case agentNotFound
    /// The agent should not run, or never ran (409 `agent_not_running`).
    case agentNotRunning
    /// Every candidate agent holds `maxQueued` unfinished tasks (429 `queue_full`).
    case queueFull
    /// A pool submit found no running agent (503 `no_running_agent`).
    case noRunningAgent
}

/// What `cancel` did.
public enum CancelOutcome: Sendable, Hashable {
    case notFound
    /// The task is final: it was already, or the cancel ended it now (it was queued).
    case final(TaskRecord)
    /// The task runs: the cancel is recorded, the worker running it must tell the agent.
    case requested(TaskRecord)
}

/// Filters of `GET /api/v1/tasks`.
public struct TaskFilter: Sendable, Hashable {
    public var agentID: String?
    public var pool: String?
    public var status: TaskStatus?
    /// 1...1000.
    public var limit: Int
    /// Only tasks older than this one (the next page).
    public var before: String?

    public init(agentID: String? = nil, pool: String? = nil, status: TaskStatus? = nil, limit: Int = 100, before: String? = nil) {
        self.agentID = agentID
        self.pool = pool
        self.status = status
        self.limit = limit
        self.before = before
    }
}
