#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolProtocol

/// One row of the `tasks` table: the truth about a task.
public struct TaskRecord: Sendable, Hashable {
    public var taskID: String
    public var agentID: String
    public var poolName: String
    /// The task's number within its agent (1, 2, ...): tasks start in this order.
    public var seq: Int
    public var status: TaskStatus
    public var input: JSONValue
    public var output: JSONValue?
    public var error: TaskFailure?
    /// Attempts started so far (a handover AgentPool chose does not count).
    public var attempt: Int
    public var maxAttempts: Int
    /// Seconds one attempt may run.
    public var timeout: Double
    /// Whether a cancel was recorded (the task may still run until its agent answers).
    public var cancelRequested: Bool
    /// The worker running the current attempt, while `running`.
    public var owner: String?
    /// While `queued` after a failed attempt: the end of its backoff.
    public var notBefore: Date?
    /// The id of the task's newest event (0: none yet).
    public var lastEventID: Int
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var updatedAt: Date

    public init(
        taskID: String, agentID: String, poolName: String, seq: Int, status: TaskStatus, input: JSONValue,
        output: JSONValue?, error: TaskFailure?, attempt: Int, maxAttempts: Int, timeout: Double,
        cancelRequested: Bool, owner: String?, notBefore: Date?, lastEventID: Int,
        createdAt: Date, startedAt: Date?, finishedAt: Date?, updatedAt: Date
    ) {
        self.taskID = taskID
        self.agentID = agentID
        self.poolName = poolName
        self.seq = seq
        self.status = status
        self.input = input
        self.output = output
        self.error = error
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.timeout = timeout
        self.cancelRequested = cancelRequested
        self.owner = owner
        self.notBefore = notBefore
        self.lastEventID = lastEventID
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.updatedAt = updatedAt
    }

    /// The task as the API shows it.
    public var view: TaskView {
        TaskView(
            taskID: taskID, agentID: agentID, poolName: poolName, seq: seq, status: status, input: input,
            output: status == .succeeded ? output : nil, error: error, attempt: attempt, maxAttempts: maxAttempts,
            timeout: timeout, createdAt: Timestamp.string(createdAt), startedAt: startedAt.map(Timestamp.string),
            finishedAt: finishedAt.map(Timestamp.string), updatedAt: Timestamp.string(updatedAt))
    }
}

/// One recorded event of a task, as its event stream sends it.
public struct TaskEventRecord: Sendable, Hashable {
    /// Grows strictly within the task, from 1.
    public var id: Int
    public var kind: TaskEventKind
    /// Carries at least `attempt`; `progress` also `data`, a failure also `error`.
    public var data: JSONObject
    public var createdAt: Date

    public init(id: Int, kind: TaskEventKind, data: JSONObject, createdAt: Date) {
        self.id = id
        self.kind = kind
        self.data = data
        self.createdAt = createdAt
    }
}
