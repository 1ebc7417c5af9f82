import NIOCore
import NIOPosix

/// The time limits and policies of exec runtimes that pool.yaml does not set; tests shorten
/// them.
public struct ExecRuntimeOptions: Sendable {
    /// How long a cancelled task may take to answer before the child is restarted (contract: 5 s).
    public var cancelGrace: Duration = .seconds(5)
    /// After `stop` and the end of stdin, how long until SIGTERM.
    public var terminateAfter: Duration = .seconds(5)
    /// After SIGTERM, how long until SIGKILL.
    public var killAfter: Duration = .seconds(5)
    /// The first restart's delay; it doubles with each quick exit, up to ``maximumRestartDelay``.
    public var initialRestartDelay: Duration = .milliseconds(100)
    public var maximumRestartDelay: Duration = .seconds(5)
    /// This many exits in a row, each within ``quickExitWindow`` of its start, and the agent
    /// ends `failed`.
    public var crashLoopLimit = 3
    public var quickExitWindow: Duration = .seconds(1)
    /// The event loops that read and write the children's pipes.
    public var eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

    public init() {}
}
