import PoolProtocol

/// One task attempt handed to an agent's code.
public struct RuntimeTask: Sendable, Hashable {
    public var taskID: String
    public var attempt: Int
    public var input: JSONValue

    public init(taskID: String, attempt: Int, input: JSONValue) {
        self.taskID = taskID
        self.attempt = attempt
        self.input = input
    }
}

/// What an agent's code says, in the order it said it.
public enum RuntimeEvent: Sendable, Hashable {
    case progress(taskID: String, data: JSONValue)
    case result(taskID: String, output: JSONValue)
    case error(taskID: String, TaskFailure)
    /// A checkpoint (latest wins); handed back in `start` whenever the agent starts again.
    case state(JSONValue)
    /// The agent's process exited or broke the protocol: every task it had in flight is lost
    /// (the worker fails those attempts as retryable). The runtime restarts it by itself,
    /// with backoff, and says `restarted` once it is ready again.
    case exited(reason: String)
    case restarted
    /// The agent cannot run (it exited at once several times in a row): it ends `failed`.
    case failed(reason: String)
}

/// Why an agent could not start: it ends `failed` with this reason.
public struct RuntimeStartFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// An agent's code, as its worker drives it: one instance per hosted agent, of the kind its
/// pool's `runtime` names. Every answer to a task (`result` or `error`) comes on `events`;
/// a cancelled task is answered within the cancel grace period (a late `result` wins, else an
/// `error`), whatever the code does.
public protocol AgentRuntime: AnyObject, Sendable {
    /// Starts the agent with its last checkpoint; returns once it is ready (exec: after its
    /// `ready` line, within `start_timeout`).
    func start(state: JSONValue?) async throws(RuntimeStartFailure)
    /// Everything the agent says, for one consumer; ends after `stop`.
    var events: AsyncStream<RuntimeEvent> { get }
    /// Hands the agent one task attempt.
    func run(_ task: RuntimeTask) async
    /// Asks the agent to give up a task it runs.
    func cancel(taskID: String) async
    /// Stops the agent for good (exec: `stop`, then SIGTERM, then SIGKILL); bounded in time.
    func stop() async
}
