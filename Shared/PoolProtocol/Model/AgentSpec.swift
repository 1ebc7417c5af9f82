/// Everything a worker needs to host an agent: its identity and what the user gave it.
/// It travels inside placement requests and `start_agent` commands.
public struct AgentSpec: Sendable, Codable, Hashable {
    /// Canonical (lowercase) UUID text; see `Identifier`.
    public var agentID: String
    public var name: String
    public var poolName: String
    public var role: String
    public var metadata: JSONObject

    public init(agentID: String, name: String, poolName: String, role: String, metadata: JSONObject) {
        self.agentID = agentID
        self.name = name
        self.poolName = poolName
        self.role = role
        self.metadata = metadata
    }

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id"
        case name
        case poolName = "pool_name"
        case role
        case metadata
    }
}
