/// Worker to everyone listening, on `pool:<name>:events`: a worker joined or is leaving.
public struct WorkerEvent: Sendable, Codable, Hashable {
    public var processID: String
    public init(processID: String) { self.processID = processID }
    enum CodingKeys: String, CodingKey { case processID = "process_id" }
}

/// Worker to everyone listening, on `pool:<name>:events`: an agent now runs there
/// (`agent_started`) or no longer does (`agent_stopped`). Sent after PostgreSQL and the
/// registry were updated, so a receiver may read either and find the new state.
public struct AgentEvent: Sendable, Codable, Hashable {
    public var processID: String
    public var agentID: String
    /// The `updated_at` (as `Timestamp.string` renders it) of the agent's row after the sender's
    /// own write: `running` on `process_id` for `agent_started`, `terminated` without a worker
    /// for `agent_stopped`. With it a gateway answers without reading the row again; absent
    /// when the sender wrote nothing (a repeated announcement, an agent that should no longer
    /// run), and then receivers read PostgreSQL.
    public var updatedAt: String?

    public init(processID: String, agentID: String, updatedAt: String? = nil) {
        self.processID = processID
        self.agentID = agentID
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case processID = "process_id"
        case agentID = "agent_id"
        case updatedAt = "updated_at"
    }
}

/// Worker or manager to everyone listening, on `pool:<name>:events`: an agent could not be
/// started. `retryable` marks refusals for capacity (the gateway answers 503 with
/// `Retry-After`) as opposed to failures (the agent is recorded `failed`).
public struct AgentFailed: Sendable, Codable, Hashable {
    public var processID: String?
    public var agentID: String
    public var reason: String
    public var retryable: Bool

    public init(processID: String?, agentID: String, reason: String, retryable: Bool) {
        self.processID = processID
        self.agentID = agentID
        self.reason = reason
        self.retryable = retryable
    }

    enum CodingKeys: String, CodingKey {
        case processID = "process_id"
        case agentID = "agent_id"
        case reason
        case retryable
    }
}
