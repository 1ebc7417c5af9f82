import Logging
import Redis

/// A worker's blocking reader of its hosted agents' task streams, on a connection of its own:
/// `XREADGROUP GROUP workers <consumer> BLOCK ... STREAMS <every hosted agent's stream> >`.
/// When the set of agents changes the read in progress is cut short (`CLIENT UNBLOCK`), so a
/// newly hosted agent's first task is not held up. Reconnects with backoff on failure.
public final class TaskFeed: Sendable {
    public init(configuration: RedisConfiguration, consumer: String, logger: Logger) {
        fatalError("skeleton")
    }

    /// Deliveries, in stream order per agent. One consumer.
    public var deliveries: AsyncStream<[TaskDelivery]> {
        fatalError("skeleton")
    }

    /// The agents whose streams are read from now on.
    public func setAgents(_ agentIDs: Set<String>) {
        fatalError("skeleton")
    }

    /// Reads until cancelled.
    public func run() async {
        fatalError("skeleton")
    }
}
