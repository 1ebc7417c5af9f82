import Foundation
import Postgres
import Testing
import TestSupport

/// A PgBouncer of one test's own, in front of the test PostgreSQL, that the test may freeze
/// with SIGSTOP (as a hung PgBouncer: connections stay open, nothing answers) without
/// disturbing the suites that share the test command's PgBouncer.
///
/// It copies the shared PgBouncer's settings (`AGENTPOOL_TEST_PGBOUNCER_DIR/pgbouncer.ini`,
/// whose auth file it reuses) with a port, log and pid file of its own. PgBouncer refuses
/// root, so it runs as `postgres`, like the shared one.
final class PrivatePgBouncer: Sendable {
    let port: Int
    let pid: Int32
    private let directory: String

    /// Starts it (on `port`, or a free one) and waits until it wrote its pid file.
    init(port: Int? = nil) async throws {
        let environment = ProcessInfo.processInfo.environment
        let shared = try #require(
            environment["AGENTPOOL_TEST_PGBOUNCER_DIR"],
            "AGENTPOOL_TEST_PGBOUNCER_DIR is not set: run these tests through scripts/test")
        let port = try port ?? Loopback.freePort()
        self.port = port
        // Under the test command's own folder (the postgres user can reach it; it is removed
        // on exit) when there is one.
        let base = environment["AGENTPOOL_STACK"] ?? NSTemporaryDirectory()
        let directory = base + "/pgtest-bouncer-\(port)"
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try await Self.run("/bin/chown", ["postgres:", directory])
        let sharedINI = try String(contentsOfFile: shared + "/pgbouncer.ini", encoding: .utf8)
        let ini = sharedINI.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            if line.hasPrefix("listen_port") { return "listen_port = \(port)" }
            if line.hasPrefix("logfile") { return "logfile = \(directory)/pgbouncer.log" }
            if line.hasPrefix("pidfile") { return "pidfile = \(directory)/pgbouncer.pid" }
            return String(line)
        }.joined(separator: "\n")
        try ini.write(toFile: directory + "/pgbouncer.ini", atomically: true, encoding: .utf8)
        do {
            try await Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", "pgbouncer", "-d", "-q", directory + "/pgbouncer.ini"])
        } catch {
            // It may have started all the same: never leave it running.
            if let pid = Self.pid(in: directory) { kill(pid, SIGKILL) }
            throw error
        }
        var pid: Int32?
        for _ in 0..<200 where pid == nil {
            pid = Self.pid(in: directory)
            if pid == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        self.pid = try #require(pid, "the private PgBouncer wrote no pid file in \(directory)")
    }

    /// The pid in the folder's pid file, once PgBouncer wrote it.
    private static func pid(in directory: String) -> Int32? {
        guard let text = try? String(contentsOfFile: directory + "/pgbouncer.pid", encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The shared test database's configuration, pointed at this PgBouncer.
    func configuration() throws -> PostgresConfiguration {
        var configuration = try TestDatabase.configuration(TestDatabase.pgbouncer)
        configuration.port = port
        return configuration
    }

    /// Freezes it: open connections stay open and new ones are accepted by the kernel, but
    /// nothing is answered, as when a host or process hangs.
    func freeze() { kill(pid, SIGSTOP) }

    /// Lets it run again.
    func thaw() { kill(pid, SIGCONT) }

    /// Stops it for good (SIGKILL works on a frozen one too; a PgBouncer started from a test
    /// may block SIGTERM) and removes its folder.
    func stop() {
        kill(pid, SIGCONT)
        kill(pid, SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `body` with a fresh private PgBouncer and always stops it afterwards.
    static func with<T>(_ body: (PrivatePgBouncer) async throws -> T) async throws -> T {
        let bouncer = try await PrivatePgBouncer()
        defer { bouncer.stop() }
        return try await body(bouncer)
    }

    /// Runs a command to its end. posix_spawn and waitpid rather than Foundation's `Process`,
    /// whose exit detection missed `runuser`'s exit here; the child gets an empty signal
    /// mask, so the PgBouncer it starts is not left blocking signals the test thread blocks.
    private static func run(_ executable: String, _ arguments: [String]) async throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, nil, &attributes, argv, environ)
        try #require(spawned == 0, "cannot start \(executable): errno \(spawned)")
        var status: Int32 = 0
        let deadline = ContinuousClock.now + .seconds(10)
        while waitpid(pid, &status, WNOHANG) == 0 {
            guard ContinuousClock.now < deadline else {
                kill(pid, SIGKILL)
                throw SetupFailure("\(executable) did not finish within 10 s")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        // WIFEXITED and WEXITSTATUS are C macros: exited normally with status 0.
        try #require(status == 0, "\(executable) \(arguments.joined(separator: " ")) failed (wait status \(status))")
    }
}

/// A test's setup that could not be done.
struct SetupFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
