/// The leader's own timings and bounds (the pool's settings are in `PoolLimits`).
public struct LeaderTuning: Sendable, Hashable {
    /// Who starts workers: the manager itself, or an orchestrator reading `desired_workers`.
    public enum Launcher: Sendable, Hashable {
        case process
        case external
    }

    public var launcher: Launcher
    /// How long a reservation waits for `agent_started` before the agent is placed again.
    public var startTimeout: Duration = Self.defaultStartTimeout
    /// Also how long a gateway's own placement reserves its slot (`PoolRegistry.placeFromGateway`).
    public static let defaultStartTimeout: Duration = .seconds(15)
    /// The most agents restored from PostgreSQL that are unconfirmed at once (waiting or
    /// started), so that thousands of agents do not stampede the workers and PgBouncer.
    public var maxUnconfirmedRestores = 64
    /// The most agents waiting for a slot; a fresh spawn beyond it is refused at once, agents
    /// to restore stay in PostgreSQL until there is room.
    public var waitingLimit = 10_000
    /// How long a stop waits for `agent_stopped` before it is tried again.
    public var stopRetryInterval: Duration = .seconds(2)
    /// How long a launched worker may take to register before it counts as failed.
    public var launchTimeout: Duration = .seconds(15)
    /// The longest the leader launches nothing after it starts leading or Redis comes back
    /// (nil: two heartbeat intervals). Workers re-register within a heartbeat or two; with the
    /// default 30 s heartbeat an unbounded window would hold a cold start's first launch 60 s.
    public var registrationWindowBound: Duration?

    public init(launcher: Launcher) {
        self.launcher = launcher
    }
}
