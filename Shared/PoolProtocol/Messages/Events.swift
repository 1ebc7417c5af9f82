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

    public init(processID: String, agentID: String) {
        self.processID = processID
        self.agentID = agentID
    }

    enum CodingKeys: String, CodingKey {
        case processID = "process_id"
        case agentID = "agent_id"
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
