/// A worker process as the HTTP API shows it (contract section 1, `Worker`).
public struct WorkerView: Sendable, Codable, Hashable {
    public var processID: String
    public var poolName: String
    public var pid: Int
    public var host: String
    public var maxAgents: Int
    public var agentCount: Int
    /// Free slots: `max_agents` minus hosted agents minus slots reserved for spawns in flight.
    public var available: Int
    public var status: String
    /// RFC 3339 UTC.
    public var startedAt: String
    /// RFC 3339 UTC.
    public var lastHeartbeat: String

    public init(
        processID: String, poolName: String, pid: Int, host: String, maxAgents: Int, agentCount: Int,
        available: Int, status: String, startedAt: String, lastHeartbeat: String
    ) {
        self.processID = processID
        self.poolName = poolName
        self.pid = pid
        self.host = host
        self.maxAgents = maxAgents
        self.agentCount = agentCount
        self.available = available
        self.status = status
        self.startedAt = startedAt
        self.lastHeartbeat = lastHeartbeat
    }

    enum CodingKeys: String, CodingKey {
        case processID = "process_id"
        case poolName = "pool_name"
        case pid
        case host
        case maxAgents = "max_agents"
        case agentCount = "agent_count"
        case available
        case status
        case startedAt = "started_at"
        case lastHeartbeat = "last_heartbeat"
    }
}
