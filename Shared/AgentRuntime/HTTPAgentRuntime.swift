import NIOCore
import NIOHTTP1
import NIOPosix
import PoolConfig
import PoolProtocol
import Synchronization

/// The time limits of http runtimes that pool.yaml does not set.
public struct HTTPRuntimeOptions: Sendable {
    /// The longest one request may take (the worker also ends an attempt at its task timeout).
    public var requestTimeout: Duration = .seconds(300)
    public var connectTimeout: Duration = .seconds(10)
    /// A larger response fails the attempt (retryable: it may be a passing fault).
    public var maximumResponseBytes = 16 << 20
    public var eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

    public init() {}
}

/// An agent behind an HTTP endpoint (`runtime: {kind: http, url: ...}`): each task attempt is
/// one `POST` of `{"task_id", "attempt", "input", "agent"}`. A 2xx JSON body is the output;
/// 4xx fails the task; 5xx, a timeout and a refused connection fail the attempt as
/// retryable; a cancel closes the connection and answers `cancelled` at once.
public final class HTTPAgentRuntime: AgentRuntime {
    public let events: AsyncStream<RuntimeEvent>
    private let sink: AsyncStream<RuntimeEvent>.Continuation
    private let definition: HTTPRuntime
    private let agent: AgentSpec
    private let options: HTTPRuntimeOptions
    private let requests = Mutex<[String: HTTPRequestHandle]>([:])
    private let endpoint: HTTPEndpoint?

    public init(definition: HTTPRuntime, agent: AgentSpec, options: HTTPRuntimeOptions = HTTPRuntimeOptions()) {
        self.definition = definition
        self.agent = agent
        self.options = options
        self.endpoint = HTTPEndpoint(definition.url)
        (events, sink) = AsyncStream.makeStream(of: RuntimeEvent.self)
    }

    /// Checks the URL only: the endpoint may come up later, and each task finds out.
    public func start(state: JSONValue?) async throws(RuntimeStartFailure) {
        guard endpoint != nil else {
            throw RuntimeStartFailure(reason: HTTPEndpoint.problem(with: definition.url) ?? "invalid url \(definition.url)")
        }
    }

    public func run(_ task: RuntimeTask) async {
        guard let endpoint else {
            sink.yield(.error(taskID: task.taskID, TaskFailure(message: "invalid url \(definition.url)", retryable: false)))
            return
        }
        let handle = HTTPRequestHandle(taskID: task.taskID, sink: sink)
        requests.withLock { $0[task.taskID] = handle }
        let body = JSONLine.encode([
            "task_id": .string(task.taskID), "attempt": .number(Double(task.attempt)), "input": task.input,
            "agent": agent.jsonObject,
        ])
        let options = self.options
        Task { [weak self] in
            let event: RuntimeEvent
            do {
                let response = try await HTTPExchange.post(
                    body, to: endpoint, group: options.eventLoopGroup, connectTimeout: options.connectTimeout,
                    timeout: options.requestTimeout, maximumResponseBytes: options.maximumResponseBytes,
                    opened: { handle.opened($0) })
                event = Self.event(for: response, taskID: task.taskID)
            } catch {
                event = .error(taskID: task.taskID, TaskFailure(message: "\(error)", retryable: true))
            }
            handle.answer(event)
            self?.requests.withLock { requests in
                if requests[task.taskID] === handle { requests.removeValue(forKey: task.taskID) }
            }
        }
    }

    public func cancel(taskID: String) async {
        requests.withLock { $0.removeValue(forKey: taskID) }?.cancel()
    }

    public func stop() async {
        let open = requests.withLock { requests in
            defer { requests.removeAll() }
            return Array(requests.values)
        }
        for handle in open { handle.abandon() }
        sink.finish()
    }

    /// What a response means for the task (contract section 5, `http`).
    static func event(for response: HTTPExchange.Response, taskID: String) -> RuntimeEvent {
        let code = Int(response.status.code)
        let body = response.body.readableBytesView
        let json = body.isEmpty ? JSONValue.null : JSONLine.decode(body)
        switch code {
        case 200..<300:
            guard let json else {
                return .error(taskID: taskID, TaskFailure(message: "the agent answered HTTP \(code) with a body that is not JSON", retryable: false))
            }
            return .result(taskID: taskID, output: json)
        case 400..<500:
            return .error(taskID: taskID, TaskFailure(message: message(json, code, response.status), retryable: false))
        case 500..<600:
            return .error(taskID: taskID, TaskFailure(message: message(json, code, response.status), retryable: true))
        default:
            return .error(taskID: taskID, TaskFailure(message: "the agent answered HTTP \(code) (redirects are not followed)", retryable: false))
        }
    }

    /// `error` or `message` of a JSON body (`{"error": "..."}`, `{"error": {"message": "..."}}`,
    /// `{"message": "..."}`), else the status line.
    private static func message(_ json: JSONValue?, _ code: Int, _ status: HTTPResponseStatus) -> String {
        let error = json?[field: "error"]
        let text = error?.stringValue ?? error?[field: "message"]?.stringValue ?? json?[field: "message"]?.stringValue
        if let text { return "\(text) (HTTP \(code))" }
        return "HTTP \(code) \(status.reasonPhrase)"
    }
}

/// One request in flight: answers its task exactly once, whether the response, the cancel or
/// the stop comes first.
final class HTTPRequestHandle: Sendable {
    private struct State {
        var answered = false
        var channel: (any Channel)?
    }

    let taskID: String
    private let sink: AsyncStream<RuntimeEvent>.Continuation
    private let state = Mutex(State())

    init(taskID: String, sink: AsyncStream<RuntimeEvent>.Continuation) {
        self.taskID = taskID
        self.sink = sink
    }

    /// The connection is up; closed at once if the task was cancelled meanwhile.
    func opened(_ channel: any Channel) {
        let answered = state.withLock { state in
            state.channel = channel
            return state.answered
        }
        if answered { channel.close(promise: nil) }
    }

    func answer(_ event: RuntimeEvent) {
        let first = state.withLock { state in
            defer { state.answered = true }
            return !state.answered
        }
        if first { sink.yield(event) }
    }

    /// Aborts the request and answers `cancelled`, unless the answer came first.
    func cancel() {
        answer(.error(taskID: taskID, TaskFailure(message: "cancelled", retryable: false)))
        abandon()
    }

    /// Aborts the request without answering (the runtime stops).
    func abandon() {
        let channel = state.withLock { state in
            state.answered = true
            return state.channel
        }
        channel?.close(promise: nil)
    }
}
