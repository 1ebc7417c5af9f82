/// A task as the HTTP API shows it (contract section 5, `Task`). Absent values are explicit
/// `null`s in JSON, as the contract lists them.
public struct TaskView: Sendable, Codable, Hashable {
    public var taskID: String
    public var agentID: String
    public var poolName: String
    /// The task's number within its agent: tasks start in this order.
    public var seq: Int
    public var status: TaskStatus
    public var input: JSONValue
    /// Null unless the task succeeded.
    public var output: JSONValue?
    public var error: TaskFailure?
    /// Attempts started so far.
    public var attempt: Int
    public var maxAttempts: Int
    /// Seconds one attempt may run.
    public var timeout: Double
    /// RFC 3339 UTC, as `Timestamp.string` renders it.
    public var createdAt: String
    /// The latest attempt's start.
    public var startedAt: String?
    public var finishedAt: String?
    public var updatedAt: String

    public init(
        taskID: String, agentID: String, poolName: String, seq: Int, status: TaskStatus, input: JSONValue,
        output: JSONValue?, error: TaskFailure?, attempt: Int, maxAttempts: Int, timeout: Double,
        createdAt: String, startedAt: String?, finishedAt: String?, updatedAt: String
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
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id"
        case agentID = "agent_id"
        case poolName = "pool_name"
        case seq, status, input, output, error, attempt
        case maxAttempts = "max_attempts"
        case timeout
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case updatedAt = "updated_at"
    }

    // Written out so that every absent value appears as an explicit `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(taskID, forKey: .taskID)
        try container.encode(agentID, forKey: .agentID)
        try container.encode(poolName, forKey: .poolName)
        try container.encode(seq, forKey: .seq)
        try container.encode(status, forKey: .status)
        try container.encode(input, forKey: .input)
        try container.encode(output ?? .null, forKey: .output)
        try container.encode(error, forKey: .error)
        try container.encode(attempt, forKey: .attempt)
        try container.encode(maxAttempts, forKey: .maxAttempts)
        try container.encode(timeout, forKey: .timeout)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(finishedAt, forKey: .finishedAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}
