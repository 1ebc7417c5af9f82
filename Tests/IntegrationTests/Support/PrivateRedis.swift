import Foundation
import TestSupport

/// A Redis of one test's own on a free loopback port, without persistence, so that the test
/// may stop and restart it (and lose everything in it) without disturbing other suites.
final class PrivateRedis: @unchecked Sendable {
    let port: Int
    let directory: String
    private var server: ServiceProcess?
    private let logDirectory: String
    /// More `redis-server` options, e.g. `--aclfile PATH`.
    private let extraArguments: [String]

    init(logDirectory: String, extraArguments: [String] = []) throws {
        self.extraArguments = extraArguments
        port = try Loopback.freePort()
        directory = NSTemporaryDirectory() + "agentpool-redis-\(port)"
        self.logDirectory = logDirectory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    var url: String { "redis://127.0.0.1:\(port)/0" }

    /// Starts the server (again) and waits until it accepts connections.
    func start() async throws {
        let binary = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let binary else { throw SetupError("redis-server is not installed") }
        server = try ServiceProcess(
            name: "private-redis-\(port)", executable: binary,
            arguments: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory] + extraArguments,
            environment: ProcessInfo.processInfo.environment, logDirectory: logDirectory)
        let port = port
        try await Poll.until("the private Redis to accept connections", timeout: .seconds(10)) { Loopback.isListening(port) }
    }

    /// Kills the server: everything in it is lost.
    func kill() async {
        await server?.stop(signal: SIGKILL)
        server = nil
    }

    deinit {
        if let server, server.isRunning { Glibc.kill(server.pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
