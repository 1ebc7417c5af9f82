import Foundation
import Postgres
import Synchronization
import Testing
import TestSupport

/// The client's non-blocking driving of libpq against the real PostgreSQL and PgBouncer:
/// many callers on few connections, cancellation and broken connections mid-statement,
/// large replies, restarts and connects that never complete.
@Suite("PostgreSQL non-blocking client", .serialized)
struct PostgresNonBlockingTests {
    @Test("500 concurrent callers on a pool of 3 each get their own answer", .timeLimit(.minutes(2)))
    func manyCallers() async throws {
        try await TestDatabase.withClient(poolSize: 3, poolTimeout: .seconds(90)) { client in
            let started = ContinuousClock.now
            let answers = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for index in 0..<500 {
                    group.addTask {
                        let row = try await client.query("SELECT $1::int * 2 AS n, pg_backend_pid() AS pid", [index]).rows[0]
                        return (index, try row.decode("n", as: Int.self))
                    }
                }
                var answers: [Int: Int] = [:]
                for try await (index, value) in group { answers[index] = value }
                return answers
            }
            print("500 callers on a pool of 3 answered in \(ContinuousClock.now - started)")
            #expect(answers.count == 500)
            #expect(answers.allSatisfy { $0.value == $0.key * 2 })
        }
    }

    @Test("a caller cancelled mid-statement gets .cancelled at once and the pool stays usable", .timeLimit(.minutes(1)))
    func cancelMidStatement() async throws {
        try await TestDatabase.withClient(poolSize: 1) { client in
            try await client.query("SELECT 1")
            let sleeper = Task { () -> PostgresError.Code? in
                do {
                    try await client.query("SELECT pg_sleep(5)")
                    return nil
                } catch let error as PostgresError {
                    return error.code
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            let cancelled = ContinuousClock.now
            sleeper.cancel()
            let code = try await sleeper.value
            let waited = ContinuousClock.now - cancelled
            print("a 5 s statement cancelled after 300 ms answered \(code.map(\.description) ?? "success") after \(waited)")
            #expect(code == .cancelled)
            #expect(waited < .seconds(2))
            // The only connection was closed; the next call opens a new one.
            let next = ContinuousClock.now
            #expect(try await client.query("SELECT 7 AS n").rows[0].decode("n", as: Int.self) == 7)
            print("the next call after the cancellation answered after \(ContinuousClock.now - next)")
        }
    }

    @Test("a backend terminated while a large SELECT streams fails that call; the next call works",
          .timeLimit(.minutes(1)))
    func terminatedMidReply() async throws {
        try await TestDatabase.withClient(TestDatabase.direct, poolSize: 1) { client in
            try await TestDatabase.withClient(TestDatabase.direct, poolSize: 1) { killer in
                let pid: Int = try await client.query("SELECT pg_backend_pid() AS pid").rows[0].decode("pid")
                // Rows come slowly (10 ms each), so the reply is still streaming when the backend goes.
                let streaming = Task { () -> PostgresError? in
                    do {
                        try await client.query("SELECT g, repeat('x', 2000) AS pad, pg_sleep(0.01) FROM generate_series(1, 2000) g")
                        return nil
                    } catch let error as PostgresError {
                        return error
                    }
                }
                try await Task.sleep(for: .milliseconds(500))
                let terminated = ContinuousClock.now
                try await killer.query("SELECT pg_terminate_backend($1::int)", [pid])
                let error = try await streaming.value
                print("terminated mid-reply: \(error.map(\.description) ?? "success") after \(ContinuousClock.now - terminated)")
                #expect(error?.code == .connection)
                let after: Int = try await client.query("SELECT pg_backend_pid() AS pid").rows[0].decode("pid")
                #expect(after != pid)
            }
        }
    }

    @Test("a server that closes the connection halfway through a message fails the call with .connection",
          .timeLimit(.minutes(1)))
    func halfMessageThenClose() async throws {
        let server = try HalfReplyServer()
        defer { server.close() }
        var configuration = try TestDatabase.configuration(TestDatabase.pgbouncer)
        configuration.host = "127.0.0.1"
        configuration.port = server.port
        configuration.password = nil
        configuration.connectTimeoutSeconds = 2
        configuration.queryTimeout = .seconds(5)
        try await TestDatabase.withClient(configuration, poolSize: 1) { client in
            let outcome = try await PostgresDeadlineTests.callers(1, bound: .seconds(15)) { _ in
                try await client.query("SELECT 1")
            }[0]
            print("half a RowDescription, then the server closed: \(outcome.description)")
            #expect(outcome.code == .connection)
            #expect(outcome.elapsed < .seconds(3), "the close must end the wait, not the 5 s query timeout")
        }
    }

    @Test("a reply of several MB arrives whole across many reads", .timeLimit(.minutes(1)))
    func largeReply() async throws {
        try await TestDatabase.withClient(poolSize: 1) { client in
            let started = ContinuousClock.now
            let result = try await client.query(
                "SELECT g, repeat(chr(65 + g % 26), 1000) AS pad FROM generate_series(1, 8000) g ORDER BY g")
            print("8000 rows of 1 kB through PgBouncer in \(ContinuousClock.now - started)")
            #expect(result.rows.count == 8000)
            let last = result.rows[7999]
            #expect(try last.decode("g", as: Int.self) == 8000)
            let pad: String = try last.decode("pad")
            #expect(pad.count == 1000)
            #expect(pad.first == Character(UnicodeScalar(65 + 8000 % 26)!))
            // A large statement too: libpq's flush does not drain at once.
            let text = String(repeating: "y", count: 3_000_000)
            let echoed = try await client.query("SELECT length($1::text) AS n", [text]).rows[0].decode("n", as: Int.self)
            #expect(echoed == 3_000_000)
        }
    }

    @Test("after a PgBouncer restart the client reconnects by itself", .timeLimit(.minutes(1)))
    func pgbouncerRestart() async throws {
        let first = try await PrivatePgBouncer()
        var configuration = try first.configuration()
        configuration.connectTimeoutSeconds = 2
        try await TestDatabase.withClient(configuration, poolSize: 2) { client in
            async let a = client.query("SELECT pg_sleep(0.05)")
            async let b = client.query("SELECT pg_sleep(0.05)")
            _ = try await (a, b)
            first.stop()
            let second = try await PrivatePgBouncer(port: first.port)
            defer { second.stop() }
            let restarted = ContinuousClock.now
            var failures: [String] = []
            while true {
                do {
                    #expect(try await client.query("SELECT 3 AS n").rows[0].decode("n", as: Int.self) == 3)
                    break
                } catch let error as PostgresError {
                    failures.append(error.code.description)
                    guard ContinuousClock.now - restarted < .seconds(15) else { throw error }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            print("after a PgBouncer restart: answered after \(ContinuousClock.now - restarted), failures before: \(failures)")
            #expect(failures.count <= 2, "idle connections to the old PgBouncer should be replaced, not fail calls")
        }
    }

    @Test("a connect to a listener that never answers ends at the connect timeout", .timeLimit(.minutes(1)))
    func silentListener() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        var configuration = try TestDatabase.configuration(TestDatabase.pgbouncer)
        configuration.host = "127.0.0.1"
        configuration.port = listener.port
        configuration.connectTimeoutSeconds = 1
        try await TestDatabase.withClient(configuration, poolSize: 1) { client in
            let started = ContinuousClock.now
            let outcome = try await PostgresDeadlineTests.callers(1, bound: .seconds(15)) { _ in try await client.query("SELECT 1") }[0]
            print("connect to a silent listener with a 1 s connect timeout: \(outcome.description)")
            #expect(outcome.code == .connection)
            #expect(outcome.message?.contains("connect timeout") == true)
            #expect(ContinuousClock.now - started < .seconds(1) + .seconds(2))
        }
    }

    @Test("the client runs as a Service: cancelling run() closes it", .timeLimit(.minutes(1)))
    func service() async throws {
        let configuration = try TestDatabase.configuration(TestDatabase.pgbouncer)
        let client = PostgresClient(configuration: configuration, poolSize: 2, logger: TestDatabase.logger)
        let running = Task { try await client.run() }
        try await client.query("SELECT 1")
        running.cancel()
        try await running.value
        await #expect(throws: PostgresError.self) { try await client.query("SELECT 1") }
        do {
            try await client.query("SELECT 1")
        } catch {
            #expect(error.code == .shutdown)
        }
    }

    @Test("after 100 queries on a pool of 3 the process has one PostgreSQL thread: the poller", .timeLimit(.minutes(1)))
    func threadCount() async throws {
        try await TestDatabase.withClient(poolSize: 3) { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<100 { group.addTask { try await client.query("SELECT 1") } }
                try await group.waitForAll()
            }
            let names = Self.threadNames()
            print("threads after 100 queries (pool of 3): \(names.count): \(names.sorted())")
            #expect(names.filter { $0 == "postgres-poller" }.count == 1)
        }
    }

    /// The names of this process's threads (Linux: /proc/self/task/*/comm).
    static func threadNames() -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { task in
            (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}

/// A loopback listener that accepts TCP connections in the kernel's backlog and never
/// answers, as a hung server whose kernel still completes handshakes.
final class SilentListener: Sendable {
    let port: Int
    private let descriptor: Int32

    init() throws {
        (descriptor, port) = try Loopback.listeningSocket(backlog: 16)
    }

    func close() { closeDescriptor(descriptor) }
}
