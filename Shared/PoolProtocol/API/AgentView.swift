/// An agent as the HTTP API shows it (contract section 1, `Agent`).
public struct AgentView: Sendable, Codable, Hashable {
    public var agentID: String
    public var name: String
    public var poolName: String
    public var role: String
    public var status: AgentStatus
    /// The hosting worker; `null` in JSON while the agent is not placed.
    public var processID: String?
    /// RFC 3339 UTC.
    public var createdAt: String
    /// RFC 3339 UTC.
    public var updatedAt: String
    public var metadata: JSONObject

    public init(
        agentID: String, name: String, poolName: String, role: String, status: AgentStatus,
        processID: String?, createdAt: String, updatedAt: String, metadata: JSONObject
    ) {
        self.agentID = agentID
        self.name = name
        self.poolName = poolName
        self.role = role
        self.status = status
        self.processID = processID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.metadata = metadata
    }

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id"
        case name
        case poolName = "pool_name"
        case role
        case status
        case processID = "process_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case metadata
    }

    // Written out so that `process_id` appears as an explicit `null` instead of being left out.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(agentID, forKey: .agentID)
        try container.encode(name, forKey: .name)
        try container.encode(poolName, forKey: .poolName)
        try container.encode(role, forKey: .role)
        try container.encode(status, forKey: .status)
        try container.encode(processID, forKey: .processID)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(metadata, forKey: .metadata)
    }
}
