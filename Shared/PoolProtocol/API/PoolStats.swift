/// A pool's figures as the HTTP API shows them (contract section 1, `PoolStats`; the names
/// are the seed guide's monitoring output).
public struct PoolStats: Sendable, Codable, Hashable {
    public var poolName: String
    public var role: String
    /// Registered workers.
    public var processCount: Int
    public var totalCapacity: Int
    /// Hosted agents plus slots reserved for spawns in flight.
    public var usedCapacity: Int
    public var availableCapacity: Int
    /// Agents placed in the pool.
    public var agentCount: Int
    /// used / total, 0 when total is 0.
    public var utilization: Double
    /// Workers whose last heartbeat is younger than `stale_after`.
    public var activeWorkerProcesses: Int
    public var maxAgentsPerProcess: Int
    public var minWorkers: Int
    public var maxWorkers: Int
    /// How many workers the pool wants right now (what an orchestrator acts on under
    /// `launcher: external`).
    public var desiredWorkers: Int
    /// Present only in the single-pool answer.
    public var workers: [WorkerView]?

    public init(
        poolName: String, role: String, processCount: Int, totalCapacity: Int, usedCapacity: Int,
        availableCapacity: Int, agentCount: Int, utilization: Double, activeWorkerProcesses: Int,
        maxAgentsPerProcess: Int, minWorkers: Int, maxWorkers: Int, desiredWorkers: Int,
        workers: [WorkerView]? = nil
    ) {
        self.poolName = poolName
        self.role = role
        self.processCount = processCount
        self.totalCapacity = totalCapacity
        self.usedCapacity = usedCapacity
        self.availableCapacity = availableCapacity
        self.agentCount = agentCount
        self.utilization = utilization
        self.activeWorkerProcesses = activeWorkerProcesses
        self.maxAgentsPerProcess = maxAgentsPerProcess
        self.minWorkers = minWorkers
        self.maxWorkers = maxWorkers
        self.desiredWorkers = desiredWorkers
        self.workers = workers
    }

    enum CodingKeys: String, CodingKey {
        case poolName = "pool_name"
        case role
        case processCount = "process_count"
        case totalCapacity = "total_capacity"
        case usedCapacity = "used_capacity"
        case availableCapacity = "available_capacity"
        case agentCount = "agent_count"
        case utilization
        case activeWorkerProcesses = "active_worker_processes"
        case maxAgentsPerProcess = "max_agents_per_process"
        case minWorkers = "min_workers"
        case maxWorkers = "max_workers"
        case desiredWorkers = "desired_workers"
        case workers
    }
}
