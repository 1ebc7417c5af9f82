/// The numbers from a pool's configuration that the pure decisions need, so that PoolCore
/// does not depend on how configuration is loaded.
public struct PoolLimits: Sendable, Hashable {
    public var poolName: String
    public var role: String
    public var maxAgentsPerProcess: Int
    public var minWorkers: Int
    public var maxWorkers: Int
    public var heartbeatInterval: Duration
    public var staleAfter: Duration
    public var idleTimeout: Duration

    public init(
        poolName: String, role: String, maxAgentsPerProcess: Int, minWorkers: Int, maxWorkers: Int,
        heartbeatInterval: Duration, staleAfter: Duration, idleTimeout: Duration
    ) {
        self.poolName = poolName
        self.role = role
        self.maxAgentsPerProcess = maxAgentsPerProcess
        self.minWorkers = minWorkers
        self.maxWorkers = maxWorkers
        self.heartbeatInterval = heartbeatInterval
        self.staleAfter = staleAfter
        self.idleTimeout = idleTimeout
    }
}
