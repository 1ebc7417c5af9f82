import Foundation
import Postgres
import Testing

/// How the pool shares, replaces and gives up connections.
@Suite("Connection pool", .serialized)
struct PostgresPoolTests {
    @Test("50 concurrent queries share a pool of 3")
    func concurrency() async throws {
        try await TestDatabase.withClient(poolSize: 3, poolTimeout: .seconds(90)) { client in
            let clock = ContinuousClock()
            let start = clock.now
            let values = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        let result = try await client.query("SELECT $1::int AS n, pg_sleep(0.01)", [index])
                        return try result.rows[0].decode("n", as: Int.self)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            print("50 queries through a pool of 3 took \(clock.now - start)")
            #expect(values.sorted() == Array(0..<50))
        }
    }

    @Test("a direct pool never holds more than poolSize backends")
    func boundedConnections() async throws {
        try await TestDatabase.withClient(TestDatabase.direct, poolSize: 3) { client in
            let pids = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<30 {
                    group.addTask {
                        try await client.query("SELECT pg_backend_pid() AS pid, pg_sleep(0.005)").rows[0].decode("pid")
                    }
                }
                return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
            }
            #expect((1...3).contains(pids.count))
        }
    }

    @Test("a connection terminated while idle is replaced before the next query")
    func terminatedWhileIdle() async throws {
        try await TestDatabase.withClient(TestDatabase.direct, poolSize: 1) { client in
            let first: Int = try await client.query("SELECT pg_backend_pid() AS pid").rows[0].decode("pid")
            try await Self.terminate(pid: first)
            let second: Int = try await client.query("SELECT pg_backend_pid() AS pid").rows[0].decode("pid")
            #expect(second != first)
        }
    }

    @Test("a connection that breaks during use fails that call, then is replaced")
    func terminatedDuringUse() async throws {
        try await TestDatabase.withClient(TestDatabase.direct, poolSize: 1) { client in
            await #expect {
                try await client.withConnection { connection in
                    let pid: Int = try await connection.query("SELECT pg_backend_pid() AS pid").rows[0].decode("pid")
                    // Terminated from another connection while this one is lent out.
                    let semaphore = DispatchSemaphore(value: 0)
                    Task {
                        try? await Self.terminate(pid: pid)
                        semaphore.signal()
                    }
                    semaphore.wait()
                    try await connection.query("SELECT 1")
                }
            } throws: { error in
                (error as? PostgresError)?.code == .connection
            }
            let result = try await client.query("SELECT 42 AS answer")
            #expect(try result.rows[0].decode("answer", as: Int.self) == 42)
        }
    }

    @Test("a server connection terminated behind PgBouncer does not reach the client")
    func terminatedBehindPgBouncer() async throws {
        // A PgBouncer of this test's own: behind the shared one, the server connection it
        // terminates may be serving another suite's transaction at that moment.
        try await PrivatePgBouncer.with { bouncer in
            try await TestDatabase.withClient(try bouncer.configuration(), poolSize: 1) { client in
                let pid: Int = try await client.query("SELECT pg_backend_pid() AS pid").rows[0].decode("pid")
                try await Self.terminate(pid: pid)
                let result = try await client.query("SELECT 7 AS n")
                #expect(try result.rows[0].decode("n", as: Int.self) == 7)
            }
        }
    }

    @Test("after close() calls fail with .shutdown")
    func closed() async throws {
        let client = PostgresClient(
            configuration: try TestDatabase.configuration(TestDatabase.pgbouncer), poolSize: 1,
            logger: TestDatabase.logger)
        try await client.query("SELECT 1")
        await client.close()
        await #expect {
            try await client.query("SELECT 1")
        } throws: { error in
            (error as? PostgresError)?.code == .shutdown
        }
    }

    @Test("callers waiting for a connection can be cancelled")
    func cancelWaiting() async throws {
        try await TestDatabase.withClient(poolSize: 1) { client in
            let holder = Task { try await client.query("SELECT pg_sleep(0.5)") }
            try await Task.sleep(for: .milliseconds(100))
            let waiter = Task { try await client.query("SELECT 1") }
            try await Task.sleep(for: .milliseconds(50))
            waiter.cancel()
            let outcome = await waiter.result
            #expect(throws: PostgresError.self) { try outcome.get() }
            if case .failure(let error as PostgresError) = outcome { #expect(error.code == .cancelled) }
            _ = try await holder.value
            try await client.query("SELECT 1")
        }
    }

    /// Terminates a backend through a direct connection and waits until it is gone.
    static func terminate(pid: Int) async throws {
        try await TestDatabase.withClient(TestDatabase.direct, poolSize: 1) { admin in
            let result = try await admin.query("SELECT pg_terminate_backend($1) AS done", [pid])
            #expect(try result.rows[0].decode("done", as: Bool.self))
            for _ in 0..<200 {
                let left = try await admin.query("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1", [pid])
                if try left.rows[0].decode("n", as: Int.self) == 0 { return }
                try await Task.sleep(for: .milliseconds(10))
            }
            Issue.record("backend \(pid) did not exit")
        }
    }
}
