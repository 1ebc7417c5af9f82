import EventLoopExecution
import Foundation
import Logging
import NIOCore
import PoolConfig
import PoolProtocol

/// The single task behind an ``ExecAgentRuntime``: owns the child, its pipes and every bit
/// of protocol state, and handles one ``ExecInput`` at a time.
struct ExecAgentDriver {
    private enum Phase: Equatable {
        /// Before `start`.
        case idle
        /// A child was spawned and sent `start`; `initial` when `start()` waits for it.
        case starting(initial: Bool)
        case running
        /// Waiting out the delay before the next restart.
        case backingOff
        case stopping
        /// Given up: it could not start, or kept exiting right after starting.
        case failed(reason: String)
        case stopped
    }

    private struct Child {
        let generation: Int
        let pid: pid_t
        let connection: ExecChildConnection
        let spawnedAt: ContinuousClock.Instant
        /// Set when the driver ends the child itself; then the exit is not the agent's fault.
        var killReason: String?
        var stdoutEnded = false
        var stderrEnded = false
        /// The exit, once the reaper reported it; handled when both output streams are read
        /// to their end (or shortly after), so that a last line written before exiting, a
        /// `result` say, is not lost to the race between the pipes and the reaper.
        var exitStatus: ExitStatus?

        var outputDrained: Bool { stdoutEnded && stderrEnded }
    }

    /// How long an exit waits for the child's output to drain. Normally the pipes reach
    /// their end within milliseconds of the exit; this bound only matters when a grandchild
    /// holds them open, and is generous because a busy event loop may read them late.
    static let drainTimeout: Duration = .seconds(2)

    private let definition: ExecRuntime
    private let agent: AgentSpec
    private let environment: [String]
    private let options: ExecRuntimeOptions
    private let logger: Logger
    private let inbox: AsyncStream<ExecInput>.Continuation
    private let events: AsyncStream<RuntimeEvent>.Continuation

    private var phase = Phase.idle
    private var generation = 0
    private var child: Child?
    private var startReply: CheckedContinuation<Result<Void, RuntimeStartFailure>, Never>?
    private var stopReplies: [CheckedContinuation<Void, Never>] = []
    /// The latest checkpoint: handed over at `start` and then whatever the agent said last.
    private var lastState: JSONValue?
    /// Sent to the current child and not answered yet.
    private var inFlight: Set<String> = []
    /// Cancel sent, answer awaited until the grace period ends.
    private var cancelling: Set<String> = []
    /// Accepted while no child was ready; sent once one is.
    private var waiting: [RuntimeTask] = []
    private var quickExits = 0
    private var restartDelay: Duration
    private var lastStderrLine: String?
    private var finished = false

    init(
        definition: ExecRuntime, agent: AgentSpec, environment: [String: String], options: ExecRuntimeOptions,
        logger: Logger, inbox: AsyncStream<ExecInput>.Continuation, events: AsyncStream<RuntimeEvent>.Continuation
    ) {
        self.definition = definition
        self.agent = agent
        self.environment = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        self.options = options
        self.logger = logger
        self.inbox = inbox
        self.events = events
        self.restartDelay = options.initialRestartDelay
    }

    mutating func run(_ inputs: AsyncStream<ExecInput>) async {
        for await input in inputs {
            await handle(input)
            if finished { break }
        }
        if !finished {
            // The runtime was dropped without `stop`: leave no child behind.
            if let child { kill(-child.pid, SIGKILL) }
            finish()
        }
    }

    private mutating func handle(_ input: ExecInput) async {
        switch input {
        case .start(let state, let reply):
            guard phase == .idle else {
                reply.resume(returning: phase == .running ? .success(()) : .failure(RuntimeStartFailure(reason: "the agent was already started")))
                return
            }
            lastState = state
            startReply = reply
            await launch(initial: true)
        case .run(let task):
            run(task)
        case .cancel(let taskID):
            cancel(taskID)
        case .stop(let reply):
            stop(reply)
        case .stdout(let generation, let line):
            guard generation == self.generation, child != nil else { return }
            read(line)
        case .stdoutEnded(let generation):
            guard generation == self.generation, child != nil else { return }
            child?.stdoutEnded = true
            if let status = child?.exitStatus, child?.outputDrained == true { return exited(status) }
            // The exit usually follows at once; if it does not, the child broke the protocol.
            schedule(.stdoutClosed, after: .seconds(1))
        case .stderr(let generation, let line):
            guard generation == self.generation else { return }
            logStderr(line)
        case .stderrEnded(let generation):
            guard generation == self.generation, child != nil else { return }
            child?.stderrEnded = true
            if let status = child?.exitStatus, child?.outputDrained == true { exited(status) }
        case .exited(let generation, let status):
            guard generation == self.generation, child != nil else { return }
            child?.exitStatus = status
            if child?.outputDrained == true {
                exited(status)
            } else {
                schedule(.exitSettled, after: Self.drainTimeout)
            }
        case .timer(let generation, let timer):
            guard generation == self.generation else { return }
            await fire(timer)
        }
    }

    // MARK: - Starting

    private mutating func launch(initial: Bool) async {
        generation += 1
        let generation = self.generation
        let inbox = self.inbox
        let process: ChildProcess
        do {
            process = try ChildProcess.spawn(
                command: definition.command, directory: definition.workingDirectory, environment: environment,
                onExit: { status in inbox.yield(.exited(generation: generation, status)) })
        } catch {
            launchFailed(initial: initial, reason: error.description)
            return
        }
        let connection: ExecChildConnection
        do {
            connection = try await ExecChildConnection.open(
                process, group: options.eventLoopGroup,
                onStdout: { inbox.yield(.stdout(generation: generation, $0)) },
                onStdoutEnd: { inbox.yield(.stdoutEnded(generation: generation)) },
                onStderr: { inbox.yield(.stderr(generation: generation, $0)) },
                onStderrEnd: { inbox.yield(.stderrEnded(generation: generation)) })
        } catch {
            kill(-process.pid, SIGKILL)
            launchFailed(initial: initial, reason: "cannot read the agent's pipes: \(error)")
            return
        }
        child = Child(generation: generation, pid: process.pid, connection: connection, spawnedAt: .now)
        lastStderrLine = nil
        phase = .starting(initial: initial)
        connection.send(["type": .string("start"), "agent": agent.jsonObject, "state": lastState ?? .null])
        logger.debug("Started agent process", metadata: ["pid": "\(process.pid)", "command": "\(definition.command.joined(separator: " "))"])
        schedule(.startDeadline, after: definition.startTimeout)
    }

    private mutating func launchFailed(initial: Bool, reason: String) {
        logger.error("Agent process did not start: \(reason)")
        if initial {
            failStart(reason)
        } else {
            restartOrFail(reason: reason, quick: true)
        }
    }

    private mutating func failStart(_ reason: String) {
        phase = .failed(reason: reason)
        startReply?.resume(returning: .failure(RuntimeStartFailure(reason: reason)))
        startReply = nil
        failWaiting(reason)
    }

    private mutating func becomeReady() {
        let wasInitial = phase == .starting(initial: true)
        phase = .running
        if wasInitial {
            startReply?.resume(returning: .success(()))
            startReply = nil
        } else {
            logger.info("Agent process restarted")
            events.yield(.restarted)
        }
        let tasks = waiting
        waiting.removeAll()
        for task in tasks { send(task) }
    }

    // MARK: - Tasks

    private mutating func run(_ task: RuntimeTask) {
        switch phase {
        case .running:
            send(task)
        case .idle, .starting, .backingOff:
            waiting.append(task)
        case .failed(let reason):
            events.yield(.error(taskID: task.taskID, TaskFailure(message: "agent failed: \(reason)", retryable: false)))
        case .stopping, .stopped:
            events.yield(.error(taskID: task.taskID, TaskFailure(message: "agent stopped", retryable: true)))
        }
    }

    private mutating func send(_ task: RuntimeTask) {
        guard let child else { return waiting.append(task) }
        inFlight.insert(task.taskID)
        child.connection.send([
            "type": .string("task"), "task_id": .string(task.taskID), "attempt": .number(Double(task.attempt)), "input": task.input,
        ])
    }

    private mutating func cancel(_ taskID: String) {
        if let index = waiting.firstIndex(where: { $0.taskID == taskID }) {
            waiting.remove(at: index)
            events.yield(.error(taskID: taskID, TaskFailure(message: "cancelled", retryable: false)))
            return
        }
        guard let child, inFlight.contains(taskID), !cancelling.contains(taskID) else { return }
        cancelling.insert(taskID)
        child.connection.send(["type": .string("cancel"), "task_id": .string(taskID)])
        schedule(.cancelDeadline(taskID: taskID), after: options.cancelGrace)
    }

    private mutating func failWaiting(_ reason: String) {
        for task in waiting {
            events.yield(.error(taskID: task.taskID, TaskFailure(message: "agent failed: \(reason)", retryable: false)))
        }
        waiting.removeAll()
    }

    // MARK: - What the child says

    private mutating func read(_ framed: FramedLine) {
        guard case .line(let buffer) = framed else {
            if case .tooLong(let length) = framed {
                logger.warning("Dropped a line from the agent: \(length) bytes, over the 1 MiB limit")
            }
            return
        }
        let bytes = buffer.readableBytesView
        guard case .object(let message)? = JSONLine.decode(bytes) else {
            logger.warning("Dropped a line from the agent that is not a JSON object", metadata: ["line": "\(Self.excerpt(bytes))"])
            return
        }
        let type = message["type"]?.stringValue
        if type == "ready" {
            if case .starting = phase { becomeReady() } else { logger.debug("Ignored a repeated ready") }
            return
        }
        if type == "state" {
            guard let state = message["state"] else {
                return logger.warning("Dropped a state message without a state")
            }
            lastState = state
            events.yield(.state(state))
            return
        }
        guard ["progress", "result", "error"].contains(type) else {
            logger.warning("Dropped a message of unknown type", metadata: ["type": "\(type ?? "none")"])
            return
        }
        guard let taskID = message["task_id"]?.stringValue else {
            return logger.warning("Dropped a \(type ?? "") message without a task_id")
        }
        guard inFlight.contains(taskID) else {
            // A late answer to a task given up on (cancel grace over): it is no longer ours.
            return logger.debug("Dropped a \(type ?? "") for a task not in flight", metadata: ["task_id": "\(taskID)"])
        }
        switch type {
        case "progress":
            events.yield(.progress(taskID: taskID, data: message["data"] ?? .null))
        case "result":
            inFlight.remove(taskID)
            cancelling.remove(taskID)
            events.yield(.result(taskID: taskID, output: message["output"] ?? .null))
        default:
            inFlight.remove(taskID)
            cancelling.remove(taskID)
            let text = message["message"]?.stringValue ?? "the agent reported an error without a message"
            events.yield(.error(taskID: taskID, TaskFailure(message: text, retryable: message["retryable"]?.boolValue ?? false)))
        }
    }

    private mutating func logStderr(_ framed: FramedLine) {
        switch framed {
        case .line(let buffer):
            let line = String(decoding: buffer.readableBytesView, as: UTF8.self)
            lastStderrLine = line
            logger.info("\(line)", metadata: ["stream": "stderr"])
        case .tooLong(let length):
            logger.info("(a stderr line of \(length) bytes, not shown)", metadata: ["stream": "stderr"])
        }
    }

    static func excerpt(_ bytes: some Collection<UInt8>) -> String {
        let text = String(decoding: bytes.prefix(200), as: UTF8.self)
        return bytes.count > 200 ? text + "… (\(bytes.count) bytes)" : text
    }

    // MARK: - Exits and restarts

    private mutating func exited(_ status: ExitStatus) {
        guard let child else { return }
        child.connection.closeAll()
        self.child = nil
        let stderrNote = lastStderrLine.map { "; last stderr line: \(Self.excerpt(Array($0.utf8)))" } ?? ""
        let reason = child.killReason ?? "agent exited (\(status))\(stderrNote)"
        // A restart the driver chose (a cancel not answered) is no fault of the agent's; any
        // other end soon after the start counts towards the crash loop.
        let restartedOnPurpose = child.killReason?.hasPrefix("restarted") == true
        let quick = !restartedOnPurpose && ContinuousClock.now - child.spawnedAt < options.quickExitWindow
        switch phase {
        case .starting(initial: true):
            failStart("the agent exited before it was ready (\(status))\(stderrNote)")
        case .starting(initial: false):
            // Not ready again yet: whatever ended it (an exit, no `ready` in time) counts.
            restartOrFail(reason: reason, quick: true)
        case .running:
            logger.warning("Agent process ended: \(reason)")
            inFlight.removeAll()
            cancelling.removeAll()
            events.yield(.exited(reason: reason))
            restartOrFail(reason: reason, quick: quick)
        case .stopping:
            logger.debug("Agent process stopped (\(status))")
            finish()
        case .idle, .backingOff, .failed, .stopped:
            break
        }
    }

    /// Counts a quick exit (a slow one resets the count and the backoff), then restarts after
    /// the backoff or gives up.
    private mutating func restartOrFail(reason: String, quick: Bool) {
        if quick {
            quickExits += 1
        } else {
            quickExits = 0
            restartDelay = options.initialRestartDelay
        }
        if quickExits >= options.crashLoopLimit {
            let failure = "agent exited \(quickExits) times in a row right after starting (last: \(reason))"
            logger.error("Agent failed: \(failure)")
            phase = .failed(reason: failure)
            events.yield(.failed(reason: failure))
            failWaiting(failure)
            return
        }
        phase = .backingOff
        logger.info("Restarting the agent process in \(restartDelay)")
        schedule(.restart, after: restartDelay)
        restartDelay = min(restartDelay * 2, options.maximumRestartDelay)
    }

    private mutating func fire(_ timer: ExecTimer) async {
        switch timer {
        case .startDeadline:
            guard case .starting(let initial) = phase, let child else { return }
            let reason = "the agent did not answer ready within \(definition.startTimeout)"
            kill(-child.pid, SIGKILL)
            if initial {
                failStart(reason)
            } else {
                self.child?.killReason = reason
            }
        case .cancelDeadline(let taskID):
            guard let child, inFlight.contains(taskID), cancelling.contains(taskID) else { return }
            inFlight.remove(taskID)
            cancelling.remove(taskID)
            events.yield(.error(taskID: taskID, TaskFailure(message: "cancelled", retryable: false)))
            logger.warning("The agent did not answer a cancel within \(options.cancelGrace); restarting its process", metadata: ["task_id": "\(taskID)"])
            let reason = "restarted: the agent did not answer the cancel of task \(taskID) within \(options.cancelGrace)"
            self.child?.killReason = reason
            kill(-child.pid, SIGKILL)
        case .restart:
            guard phase == .backingOff else { return }
            await launch(initial: false)
        case .exitSettled:
            if let status = child?.exitStatus { exited(status) }
        case .stdoutClosed:
            guard let child, child.killReason == nil, child.exitStatus == nil, phase != .stopping else { return }
            self.child?.killReason = "the agent closed its stdout"
            kill(-child.pid, SIGKILL)
        case .terminate:
            guard phase == .stopping, let child else { return }
            logger.info("Agent process did not end after stop; sending SIGTERM")
            kill(-child.pid, SIGTERM)
            schedule(.kill, after: options.killAfter)
        case .kill:
            guard phase == .stopping, let child else { return }
            logger.warning("Agent process did not end after SIGTERM; sending SIGKILL")
            kill(-child.pid, SIGKILL)
            schedule(.giveUp, after: .seconds(2))
        case .giveUp:
            guard phase == .stopping else { return }
            logger.error("Agent process did not end after SIGKILL; leaving it to the reaper")
            finish()
        }
    }

    // MARK: - Stopping

    private mutating func stop(_ reply: CheckedContinuation<Void, Never>) {
        stopReplies.append(reply)
        if phase == .stopping { return }
        if let startReply {
            startReply.resume(returning: .failure(RuntimeStartFailure(reason: "the agent was stopped while starting")))
            self.startReply = nil
        }
        guard let child else { return finish() }
        phase = .stopping
        child.connection.send(["type": .string("stop")])
        child.connection.closeInput()
        schedule(.terminate, after: options.terminateAfter)
    }

    private mutating func finish() {
        phase = .stopped
        finished = true
        child?.connection.closeAll()
        child = nil
        startReply?.resume(returning: .failure(RuntimeStartFailure(reason: "the agent was stopped")))
        startReply = nil
        events.finish()
        for reply in stopReplies { reply.resume() }
        stopReplies.removeAll()
        inbox.finish()
    }

    private func schedule(_ timer: ExecTimer, after delay: Duration) {
        let generation = self.generation
        Task { [inbox] in
            try? await Task.sleep(for: delay, clock: .eventLoop)
            inbox.yield(.timer(generation: generation, timer))
        }
    }
}
