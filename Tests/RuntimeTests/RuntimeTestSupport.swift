import AgentRuntime
import Foundation
import Logging
import PoolConfig
import PoolProtocol
import Synchronization
import Testing

/// The repository's root, found from this file's path (Tests/RuntimeTests/<file>).
let repositoryRoot: String = {
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

let pythonAgent = repositoryRoot + "/examples/agents/python/agent.py"
let chatAgent = repositoryRoot + "/examples/agents/openai_chat/agent.py"

/// The system's python3 when there is one: a version manager's `python3` shim (pyenv) is a
/// shell script that adds variables of its own to the environment and takes seconds to start.
let pythonExecutable = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"

let testAgent = AgentSpec(
    agentID: "0b0e8f3e-3f7a-4c55-9d1e-5d8d2f1e0a01", name: "tester", poolName: "runtime_pool", role: "tester",
    metadata: ["team": .string("a")])

/// A logger that keeps what it was told, so tests can check stderr forwarding.
final class CapturedLog: Sendable {
    let lines = Mutex<[(String, Logger.Metadata)]>([])

    var logger: Logger {
        Logger(label: "runtime-tests") { _ in CapturingHandler(log: self) }
    }

    func contains(_ text: String, metadata key: String, _ value: String) -> Bool {
        lines.withLock { lines in
            lines.contains { $0.0.contains(text) && $0.1[key].map { "\($0)" } == value }
        }
    }
}

struct CapturingHandler: LogHandler {
    let log: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        log.lines.withLock { $0.append(("\(event.message)", merged)) }
    }
}

/// Reads a runtime's events in the background and lets a test wait for the ones it expects.
final class EventRecorder: Sendable {
    private let box: SeenBox
    private let reader: Task<Void, Never>

    init(_ runtime: any AgentRuntime) {
        let events = runtime.events
        let box = SeenBox()
        self.box = box
        reader = Task {
            for await event in events { box.append(event) }
            box.end()
        }
    }

    var events: [RuntimeEvent] { box.events }
    var isEnded: Bool { box.isEnded }

    /// Waits until an event matches (looking at all events seen so far), or `timeout` passes.
    func first(
        within timeout: Duration = .seconds(20), _ description: String = "",
        where match: @Sendable (RuntimeEvent) -> Bool
    ) async throws -> RuntimeEvent {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let event = box.events.first(where: match) { return event }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("no \(description) event within \(timeout); saw \(box.events.map(Self.short))")
        throw TimedOut()
    }

    /// The answer (result or error) for `taskID`.
    func answer(for taskID: String, within timeout: Duration = .seconds(20)) async throws -> RuntimeEvent {
        try await first(within: timeout, "answer for \(taskID)") { event in
            switch event {
            case .result(let id, _), .error(let id, _): return id == taskID
            default: return false
            }
        }
    }

    func waitForEnd(within timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !box.isEnded {
            guard ContinuousClock.now < deadline else {
                Issue.record("the event stream did not end within \(timeout)")
                throw TimedOut()
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    static func short(_ event: RuntimeEvent) -> String {
        let text = "\(event)"
        return text.count > 160 ? String(text.prefix(160)) + "…" : text
    }

    deinit { reader.cancel() }
}

private final class SeenBox: Sendable {
    private let state = Mutex<(events: [RuntimeEvent], ended: Bool)>(([], false))
    func append(_ event: RuntimeEvent) { state.withLock { $0.events.append(event) } }
    func end() { state.withLock { $0.ended = true } }
    var events: [RuntimeEvent] { state.withLock { $0.events } }
    var isEnded: Bool { state.withLock { $0.ended } }
}

struct TimedOut: Error {}

/// Seconds since `start`, for the times tests print.
func seconds(since start: ContinuousClock.Instant) -> String {
    let elapsed = ContinuousClock.now - start
    return String(format: "%.3f s", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

/// Whether a process with this id exists at all (a zombie still does).
func processExists(_ pid: Int32) -> Bool {
    FileManager.default.fileExists(atPath: "/proc/\(pid)")
}

/// The process's state letter from /proc (`Z` for a zombie), nil when it is gone.
func processState(_ pid: Int32) -> String? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = text.lastIndex(of: ")") else { return nil }
    return text[text.index(after: close)...].split(separator: " ").first.map(String.init)
}

/// Waits until `pid` is gone (neither running nor a zombie), or `timeout` passes.
func waitUntilGone(_ pid: Int32, within timeout: Duration = .seconds(10)) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if !processExists(pid) { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return false
}

/// This process's resident memory in KiB, from /proc.
func residentKiB() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
    return 0
}

/// A fresh temporary folder for one test.
func temporaryFolder() throws -> String {
    let path = NSTemporaryDirectory() + "runtime-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The process ids the python agent wrote to its pid file, one per start.
func pids(in file: String) -> [Int32] {
    ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int32($0) }
}

/// An exec runtime around the example python agent.
func pythonRuntime(
    environment: [String: String] = [:], workerEnvironment: [String: String]? = nil,
    startTimeout: Duration = .seconds(10), options: ExecRuntimeOptions = ExecRuntimeOptions(),
    logger: Logger = Logger(label: "runtime-tests"), script: String = pythonAgent
) -> ExecAgentRuntime {
    let worker = workerEnvironment ?? ProcessInfo.processInfo.environment
    return ExecAgentRuntime(
        definition: ExecRuntime(
            command: [pythonExecutable, "-u", script], workingDirectory: repositoryRoot, environment: environment,
            startTimeout: startTimeout),
        agent: testAgent, environment: worker, logger: logger, options: options)
}

func input(_ object: JSONObject) -> JSONValue { .object(object) }
