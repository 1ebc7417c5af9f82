import Foundation
import PoolProtocol
import Redis
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the task API suites share: requests, error codes, workers that hold still, and a
/// reader of event streams as they arrive.
extension TestStack {
    /// Heartbeats as usual, but a worker is declared dead only after 10 minutes: a test may
    /// freeze one (SIGSTOP) so that its agents' tasks stay `queued` (nobody starts them),
    /// whatever the worker side does with tasks, without the manager re-placing its agents.
    static let patientDefaults = """
          max_agents_per_process: 10
          heartbeat_interval: 0.5
          stale_after: 600
          min_workers: 1
          max_workers: 5
          idle_timeout: 600
        """

    /// `POST /api/v1/agents/{agent_id}/tasks` (or a pool's with `pool`), `query` after `?`.
    func submit(
        agent agentID: String? = nil, pool: String? = nil, body: String, idempotencyKey: String? = nil, query: String = "",
        headers: [String: String] = [:]
    ) async throws -> HTTPClient.Reply {
        var headers = headers
        if let idempotencyKey { headers["Idempotency-Key"] = idempotencyKey }
        let path = agentID.map { "/api/v1/agents/\($0)/tasks" } ?? "/api/v1/agents/pools/\(pool ?? pools[0])/tasks"
        return try await http.send("POST", path + (query.isEmpty ? "" : "?\(query)"), body: Data(body.utf8), headers: headers)
    }

    /// Runs `body` while every registered worker of the stack's pools is frozen (SIGSTOP),
    /// and lets them run again afterwards, also when `body` throws.
    func withFrozenWorkers(_ body: () async throws -> Void) async throws {
        var frozen: [Int32] = []
        for pool in pools { frozen += try await workerPIDs(pool).values }
        for pid in frozen { kill(pid, SIGSTOP) }
        defer { for pid in frozen { kill(pid, SIGCONT) } }
        try await body()
    }

    /// The id of the worker `agentID` runs on, from Redis.
    func host(of agentID: String) async throws -> String {
        guard let processID = try await redis.send("HGET", RedisKeys.agent(agentID), "process_id").string else {
            throw SetupError("agent \(agentID) is placed nowhere")
        }
        return processID
    }
}

extension HTTPClient.Reply {
    /// The `error.code` of a JSON error body, nil for anything else.
    var errorCode: String? {
        ((try? json()) as? [String: Any]).flatMap { $0["error"] as? [String: Any] }?["code"] as? String
    }

    /// The body as a task (throws when it is not one).
    var task: TaskView {
        get throws { try decode(TaskView.self) }
    }
}

/// One server-sent event as a client parses it.
struct ServerSentEvent: Equatable {
    var id: Int?
    var event: String?
    var data: String
}

enum ServerSentEvents {
    /// The events in a `text/event-stream` body; comments (`: ...`) and `retry:` are skipped.
    static func parse(_ text: String) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for block in text.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n\n") {
            var event = ServerSentEvent(id: nil, event: nil, data: "")
            var hasField = false
            for line in block.split(separator: "\n", omittingEmptySubsequences: true) where !line.hasPrefix(":") {
                let parts = line.split(separator: ":", maxSplits: 1)
                let name = String(parts[0])
                let value = parts.count > 1 ? String(parts[1].drop { $0 == " " }) : ""
                switch name {
                case "id": event.id = Int(value); hasField = true
                case "event": event.event = value; hasField = true
                case "data": event.data += value; hasField = true
                default: break
                }
            }
            if hasField { events.append(event) }
        }
        return events
    }

    /// The JSON object in an event's `data`.
    static func data(_ event: ServerSentEvent) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(event.data.utf8))) as? [String: Any]
    }
}

/// An event stream read as it arrives, over a raw connection (`Connection: close`, so that
/// the end of the response closes it).
final class EventStreamConnection: @unchecked Sendable {
    private let connection: RawConnection
    private(set) var received = Data()
    private(set) var closed = false

    init(port: Int, path: String, apiKey: String?, lastEventID: String? = nil) throws {
        connection = try RawConnection(port: port)
        var head = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nConnection: close\r\n"
        if let apiKey { head += "Authorization: Bearer \(apiKey)\r\n" }
        if let lastEventID { head += "Last-Event-ID: \(lastEventID)\r\n" }
        try connection.send(head + "\r\n")
    }

    var text: String { String(decoding: received, as: UTF8.self) }

    /// Reads until `condition` holds for what arrived so far, the peer closes, or `timeout`
    /// passes; returns whether the condition holds.
    @discardableResult
    func read(until condition: @escaping @Sendable (String) -> Bool, timeout: Duration) async -> Bool {
        let fd = connection.fd
        let start = received
        let (data, closed) = await withCheckedContinuation { (continuation: CheckedContinuation<(Data, Bool), Never>) in
            DispatchQueue.global().async {
                var data = start
                let deadline = ContinuousClock.now + timeout
                var buffer = [UInt8](repeating: 0, count: 65536)
                while ContinuousClock.now < deadline, !condition(String(decoding: data, as: UTF8.self)) {
                    var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    guard poll(&poller, 1, 50) > 0 else { continue }
                    let count = recv(fd, &buffer, buffer.count, 0)
                    if count <= 0 {
                        continuation.resume(returning: (data, true))
                        return
                    }
                    data.append(contentsOf: buffer[0..<count])
                }
                continuation.resume(returning: (data, false))
            }
        }
        received = data
        if closed { self.closed = true }
        return condition(text)
    }

    /// Reads until the server closes the connection (the response ended), at most `timeout`.
    func readToEnd(timeout: Duration) async -> Bool {
        if closed { return true }
        await read(until: { _ in false }, timeout: timeout)
        return closed
    }
}

extension TestStack {
    /// The gateway's port, from the client's base URL.
    var port: Int {
        get throws {
            guard let text = http.baseURL.split(separator: ":").last, let port = Int(text) else {
                throw SetupError("no gateway started")
            }
            return port
        }
    }
}

/// A gateway of the stack's pool file started with extra settings (such as a short
/// `SSE_KEEPALIVE_INTERVAL`); the stack's client talks to it from then on. Stop it at the end.
extension TestStack {
    func startGateway(with extra: [String: String]) async throws -> ServiceProcess {
        let port = try Loopback.freePort()
        var variables = environment.serviceEnvironment
        variables["GATEWAY_PORT"] = String(port)
        variables.merge(extra) { $1 }
        let gateway = try ServiceProcess(
            name: "\(pools[0])-gateway-\(port)", executable: environment.executable("gateway"), arguments: ["--config", configPath],
            environment: variables, logDirectory: environment.logDirectory)
        http = HTTPClient(baseURL: "http://127.0.0.1:\(port)")
        let client = http
        try await Poll.until("the gateway to be ready") { try await client.get("/readyz").status == 200 }
        return gateway
    }
}
