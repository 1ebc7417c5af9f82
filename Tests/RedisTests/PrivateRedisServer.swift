import Foundation
import Redis
import Synchronization
import Testing
import TestSupport

/// A redis-server of one test's own on a free loopback port, which the test may freeze with
/// SIGSTOP (connections stay open, new ones are accepted by the kernel, nothing answers)
/// without disturbing the suites that share `REDIS_URL`.
final class PrivateRedisServer: Sendable {
    let port: Int
    private let directory: String
    private let currentPID = Mutex<Int32>(0)

    /// The running server's process id.
    var pid: Int32 { currentPID.withLock { $0 } }

    /// Starts it (`--daemonize yes`, like the test command's own) and waits until it answers.
    init() async throws {
        let port = try Loopback.freePort()
        self.port = port
        let directory = NSTemporaryDirectory() + "redistests-\(port)"
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try await start()
    }

    private func start() async throws {
        try? FileManager.default.removeItem(atPath: directory + "/redis.pid")
        let arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "yes",
            "--dir", directory, "--pidfile", directory + "/redis.pid", "--logfile", directory + "/redis.log",
        ]
        try await Self.run("/usr/bin/redis-server", arguments)
        var pid: Int32?
        for _ in 0..<200 where pid == nil {
            let text = try? String(contentsOfFile: directory + "/redis.pid", encoding: .utf8)
            pid = text.flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if pid == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        let started = try #require(pid, "the private redis-server wrote no pid file in \(directory)")
        currentPID.withLock { $0 = started }
    }

    /// Kills it (SIGKILL: connections drop at once, scripts and data are gone) and starts a
    /// new one on the same port, as a Redis restart does.
    func restart() async throws {
        let old = pid
        kill(old, SIGKILL)
        while kill(old, 0) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        try await start()
    }

    /// A configuration for this server.
    var configuration: RedisConfiguration { RedisConfiguration(host: "127.0.0.1", port: port) }

    /// Freezes it, as when a host or process hangs.
    func freeze() { kill(pid, SIGSTOP) }

    /// Lets it run again.
    func thaw() { kill(pid, SIGCONT) }

    /// Stops it for good (SIGKILL works on a frozen one too) and removes its folder.
    func stop() {
        kill(pid, SIGCONT)
        kill(pid, SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `body` with a fresh private server and always stops it afterwards.
    static func with<T>(_ body: (PrivateRedisServer) async throws -> T) async throws -> T {
        let server = try await PrivateRedisServer()
        defer { server.stop() }
        return try await body(server)
    }

    /// Runs a command to its end with posix_spawn and waitpid (Foundation's `Process` can
    /// miss a child's exit on a test thread).
    private static func run(_ executable: String, _ arguments: [String]) async throws {
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, nil, nil, argv, environ)
        try #require(spawned == 0, "cannot start \(executable): errno \(spawned)")
        var status: Int32 = 0
        let deadline = ContinuousClock.now + .seconds(10)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if ContinuousClock.now >= deadline { kill(pid, SIGKILL) }
            try await Task.sleep(for: .milliseconds(10))
        }
        try #require(status == 0, "\(executable) failed (wait status \(status))")
    }
}
