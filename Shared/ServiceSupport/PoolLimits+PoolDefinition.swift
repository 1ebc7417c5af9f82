import PoolConfig
import PoolCore

extension PoolLimits {
    /// The numbers of a configured pool that the pure decisions need.
    public init(_ definition: PoolDefinition) {
        self.init(
            poolName: definition.name, role: definition.role, maxAgentsPerProcess: definition.maxAgentsPerProcess,
            minWorkers: definition.minWorkers, maxWorkers: definition.maxWorkers,
            heartbeatInterval: definition.heartbeatInterval, staleAfter: definition.staleAfter,
            idleTimeout: definition.idleTimeout)
    }
}
