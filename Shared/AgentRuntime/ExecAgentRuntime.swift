import Logging
import PoolConfig
import PoolProtocol

/// An agent that is one child process of its worker, speaking JSON lines on stdin and stdout
/// (contract section 5, the exec protocol). The child is restarted with backoff when it
/// exits or breaks the protocol, gets its last state back in `start`, and the agent ends
/// `failed` when it keeps exiting right after starting.
///
/// All the work happens in one driver task (``ExecAgentDriver``) that takes every input —
/// calls from the worker, lines from the child, its exit, timers — from one stream in order,
/// so no state is shared between tasks.
public final class ExecAgentRuntime: AgentRuntime {
    public let events: AsyncStream<RuntimeEvent>
    private let inbox: AsyncStream<ExecInput>.Continuation

    public init(
        definition: ExecRuntime, agent: AgentSpec, environment: [String: String], logger: Logger,
        options: ExecRuntimeOptions = ExecRuntimeOptions()
    ) {
        let (events, sink) = AsyncStream.makeStream(of: RuntimeEvent.self)
        let (inputs, inbox) = AsyncStream.makeStream(of: ExecInput.self)
        self.events = events
        self.inbox = inbox
        var logger = logger
        logger[metadataKey: "agent_id"] = "\(agent.agentID)"
        let childEnvironment = Self.childEnvironment(definition, worker: environment)
        Task {
            var driver = ExecAgentDriver(
                definition: definition, agent: agent, environment: childEnvironment, options: options,
                logger: logger, inbox: inbox, events: sink)
            await driver.run(inputs)
        }
    }

    deinit {
        inbox.finish()
    }

    public func start(state: JSONValue?) async throws(RuntimeStartFailure) {
        let result = await withCheckedContinuation { (reply: CheckedContinuation<Result<Void, RuntimeStartFailure>, Never>) in
            if case .terminated = inbox.yield(.start(state: state, reply: reply)) {
                reply.resume(returning: .failure(RuntimeStartFailure(reason: "the agent was stopped")))
            }
        }
        try result.get()
    }

    public func run(_ task: RuntimeTask) async {
        inbox.yield(.run(task))
    }

    public func cancel(taskID: String) async {
        inbox.yield(.cancel(taskID: taskID))
    }

    public func stop() async {
        await withCheckedContinuation { (reply: CheckedContinuation<Void, Never>) in
            if case .terminated = inbox.yield(.stop(reply: reply)) {
                reply.resume()
            }
        }
    }

    /// Exactly `PATH`, `HOME`, `LANG` and `TZ` of the worker (when set), then `env`, then the
    /// `env_from` names the worker has; never one of AgentPool's own settings, even if a
    /// definition built in code names one.
    static func childEnvironment(_ definition: ExecRuntime, worker: [String: String]) -> [String: String] {
        var result: [String: String] = [:]
        for name in ["PATH", "HOME", "LANG", "TZ"] {
            if let value = worker[name] { result[name] = value }
        }
        for (name, value) in definition.environment where !ReservedEnvironment.contains(name) {
            result[name] = value
        }
        for name in definition.environmentFrom where !ReservedEnvironment.contains(name) {
            if let value = worker[name] { result[name] = value }
        }
        return result
    }
}

/// One input of an exec runtime's driver, in the order it happened.
enum ExecInput: Sendable {
    case start(state: JSONValue?, reply: CheckedContinuation<Result<Void, RuntimeStartFailure>, Never>)
    case run(RuntimeTask)
    case cancel(taskID: String)
    case stop(reply: CheckedContinuation<Void, Never>)
    /// From the child of `generation` (older children's leftovers are ignored).
    case stdout(generation: Int, FramedLine)
    case stdoutEnded(generation: Int)
    case stderr(generation: Int, FramedLine)
    case stderrEnded(generation: Int)
    case exited(generation: Int, ExitStatus)
    case timer(generation: Int, ExecTimer)
}

/// The deadlines an exec driver sets itself.
enum ExecTimer: Sendable {
    case startDeadline
    case cancelDeadline(taskID: String)
    case restart
    /// An exit waited long enough for the output to drain.
    case exitSettled
    /// Stdout closed some time ago: if the child still runs, it broke the protocol.
    case stdoutClosed
    case terminate
    case kill
    case giveUp
}
