import PoolProtocol

/// The pub/sub channels of a pool (see `docs/protocol.md`).
public enum PoolChannel: Sendable, Hashable, CaseIterable {
    /// Gateway → manager: `place_agent`, `terminate_agent`.
    case requests
    /// Manager → workers: `start_agent`, `stop_agent`, `retire_worker`.
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
