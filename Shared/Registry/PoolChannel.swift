import PoolProtocol

/// The pub/sub channels of a pool (see `docs/protocol.md`).
public enum PoolChannel: Sendable, Hashable, CaseIterable {
    /// Gateway → manager: `place_agent`, `terminate_agent`.
    case requests
    /// Manager → every worker of the pool. The manager sends each command for one worker
    /// on that worker's own channel instead (`PoolRegistry.publishCommand`); workers listen
    /// here too and obey targeted commands that arrive here.
    case commands
    /// Workers and managers → everyone: `worker_*`, `agent_*`.
    case events

    /// The channel's Redis name for `pool`.
    public func name(_ pool: String) -> String {
        switch self {
        case .requests: RedisKeys.poolRequests(pool)
        case .commands: RedisKeys.poolCommands(pool)
        case .events: RedisKeys.poolEvents(pool)
        }
    }
}
