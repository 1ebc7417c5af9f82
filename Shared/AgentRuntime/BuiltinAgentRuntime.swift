import EventLoopExecution
import PoolConfig
import PoolProtocol
import Synchronization

/// The agents AgentPool brings along (`runtime: {kind: builtin, name: ...}`), for trying
/// things out, tests and benchmarks: `echo` answers the input, `sleep` answers it after
/// `input.seconds`, `fail` fails with `input.message`. Odd input gives a non-retryable
/// error, never a crash.
public final class BuiltinAgentRuntime: AgentRuntime {
    /// The longest `sleep` accepted (a day): longer is surely a mistake.
    public static let maximumSleepSeconds = 86_400.0

    public let kind: BuiltinRuntime
    public let events: AsyncStream<RuntimeEvent>
    private let sink: AsyncStream<RuntimeEvent>.Continuation
    /// Sleeping tasks, so that a cancel can end them at once.
    private let sleepers = Mutex<[String: Task<Void, Never>]>([:])

    public init(_ kind: BuiltinRuntime) {
        self.kind = kind
        (events, sink) = AsyncStream.makeStream(of: RuntimeEvent.self)
    }

    public func start(state: JSONValue?) async throws(RuntimeStartFailure) {}

    public func run(_ task: RuntimeTask) async {
        switch kind {
        case .echo:
            sink.yield(.result(taskID: task.taskID, output: task.input))
        case .fail:
            let message = task.input[field: "message"]?.stringValue ?? "failed (builtin fail)"
            let retryable = task.input[field: "retryable"]?.boolValue ?? false
            sink.yield(.error(taskID: task.taskID, TaskFailure(message: message, retryable: retryable)))
        case .sleep:
            guard let seconds = task.input[field: "seconds"]?.numberValue, seconds.isFinite, seconds >= 0,
                  seconds <= Self.maximumSleepSeconds else {
                let problem = "input.seconds must be a number from 0 to \(Int(Self.maximumSleepSeconds))"
                sink.yield(.error(taskID: task.taskID, TaskFailure(message: problem, retryable: false)))
                return
            }
            sleep(task, seconds: seconds)
        }
    }

    private func sleep(_ task: RuntimeTask, seconds: Double) {
        let sink = self.sink
        let sleeper = Task {
            do {
                try await Task.sleep(for: .seconds(seconds), clock: .eventLoop)
                sink.yield(.result(taskID: task.taskID, output: task.input))
            } catch {
                sink.yield(.error(taskID: task.taskID, TaskFailure(message: "cancelled", retryable: false)))
            }
        }
        sleepers.withLock { $0[task.taskID] = sleeper }
        // Forget it once it is done (the answer is already on its way).
        Task { [weak self] in
            await sleeper.value
            self?.sleepers.withLock { _ = $0.removeValue(forKey: task.taskID) }
        }
    }

    public func cancel(taskID: String) async {
        sleepers.withLock { $0.removeValue(forKey: taskID) }?.cancel()
    }

    public func stop() async {
        let running = sleepers.withLock { sleepers in
            defer { sleepers.removeAll() }
            return Array(sleepers.values)
        }
        for sleeper in running { sleeper.cancel() }
        sink.finish()
    }
}
