import Foundation
import Postgres
import Synchronization
import Testing

/// Every call answers within its deadline, also when the database hangs.
@Suite("PostgreSQL deadlines", .serialized)
struct PostgresDeadlineTests {
    @Test("through a frozen PgBouncer every caller gets an answer, and the client heals after SIGCONT",
          .timeLimit(.minutes(2)))
    func frozenPgBouncer() async throws {
        try await PrivatePgBouncer.with { bouncer in
            var configuration = try bouncer.configuration()
            configuration.queryTimeout = .seconds(1)
            configuration.poolTimeout = .seconds(2)
            configuration.connectTimeoutSeconds = 2
            try await TestDatabase.withClient(configuration, poolSize: 2) { client in
                try await Self.untilAnswered(client)
                // Both connections open and idle before the freeze.
                async let first = client.query("SELECT pg_sleep(0.05)")
                async let second = client.query("SELECT pg_sleep(0.05)")
                _ = try await (first, second)

                bouncer.freeze()
                let outcomes = try await Self.callers(6, bound: .seconds(20)) { _ in
                    try await client.query("SELECT 1 AS one")
                }
                bouncer.thaw()
                for (index, outcome) in outcomes.enumerated() {
                    print("frozen PgBouncer, caller \(index): \(outcome.description)")
                }
                // Each caller waits at most its pool wait, one connect and one statement deadline.
                let bound = Duration.seconds(2 + 2 + 1) + .seconds(3)
                for outcome in outcomes {
                    #expect(outcome.answered, "no answer within \(Duration.seconds(20))")
                    #expect(outcome.elapsed < bound, "\(outcome.description)")
                    let expected: [PostgresError.Code] = [.timeout, .poolTimeout, .connection]
                    #expect(outcome.code.map(expected.contains) ?? false, "\(outcome.description)")
                }
                #expect(outcomes.contains { $0.code == .timeout })
                let timeout = try #require(outcomes.first { $0.code == .timeout }?.message)
                #expect(timeout.contains("may or may not have run"))

                let healed = ContinuousClock.now
                try await Self.untilAnswered(client)
                print("after SIGCONT the client answered again after \(ContinuousClock.now - healed)")
            }
        }
    }

    @Test("connect_timeout bounds a connect to a frozen PgBouncer", .timeLimit(.minutes(1)))
    func connectToFrozenPgBouncer() async throws {
        try await PrivatePgBouncer.with { bouncer in
            var configuration = try bouncer.configuration()
            configuration.connectTimeoutSeconds = 2
            try await TestDatabase.withClient(configuration, poolSize: 1) { client in try await Self.untilAnswered(client) }
            bouncer.freeze()
            let outcome = try await TestDatabase.withClient(configuration, poolSize: 1) { fresh in
                try await Self.callers(1, bound: .seconds(15)) { _ in try await fresh.query("SELECT 1") }[0]
            }
            bouncer.thaw()
            print("connect to a frozen PgBouncer: \(outcome.description)")
            #expect(outcome.code == .connection)
            #expect(outcome.elapsed < .seconds(2 + 3))
        }
    }

    @Test("a slow statement fails with .timeout at its deadline; the next call works", .timeLimit(.minutes(1)))
    func slowStatement() async throws {
        var configuration = try TestDatabase.configuration(TestDatabase.pgbouncer)
        configuration.queryTimeout = .milliseconds(500)
        try await TestDatabase.withClient(configuration, poolSize: 1) { client in
            let outcome = try await Self.callers(1, bound: .seconds(15)) { _ in try await client.query("SELECT pg_sleep(3)") }[0]
            print("a 3 s statement with a 500 ms deadline: \(outcome.description)")
            #expect(outcome.code == .timeout)
            #expect(outcome.elapsed < .milliseconds(500) + .seconds(2))
            #expect(try await client.query("SELECT 5 AS n").rows[0].decode("n", as: Int.self) == 5)
        }
    }

    @Test("inside a transaction the server ends a slow statement itself and keeps the connection",
          .timeLimit(.minutes(1)))
    func serverSideTimeoutInTransaction() async throws {
        var configuration = try TestDatabase.configuration(TestDatabase.direct)
        configuration.queryTimeout = .seconds(2)
        try await TestDatabase.withClient(configuration, poolSize: 1) { client in
            let before: Int = try await client.query("SELECT pg_backend_pid() AS pid").rows[0].decode("pid")
            let outcome = try await Self.callers(1, bound: .seconds(15)) { _ in
                try await client.withTransaction { connection in try await connection.query("SELECT pg_sleep(3)") }
            }[0]
            print("a 3 s statement in a transaction with a 2 s deadline: \(outcome.description)")
            #expect(outcome.code == .server)
            #expect(outcome.sqlState == "57014")  // query_canceled: statement_timeout
            #expect(outcome.elapsed < .seconds(2) + .seconds(2))
            let after: Int = try await client.query("SELECT pg_backend_pid() AS pid").rows[0].decode("pid")
            #expect(after == before, "the connection was replaced")
        }
    }

    @Test("waiting for a pooled connection has a deadline", .timeLimit(.minutes(1)))
    func poolWait() async throws {
        var configuration = try TestDatabase.configuration(TestDatabase.pgbouncer)
        configuration.poolTimeout = .milliseconds(500)
        try await TestDatabase.withClient(configuration, poolSize: 1) { client in
            try await client.query("SELECT 1")
            let holder = Task { try await client.query("SELECT pg_sleep(2.5)") }
            try await Task.sleep(for: .milliseconds(200))
            let outcome = try await Self.callers(1, bound: .seconds(15)) { _ in try await client.query("SELECT 1") }[0]
            print("waiting behind a 2.5 s statement with a 500 ms pool timeout: \(outcome.description)")
            #expect(outcome.code == .poolTimeout)
            #expect(outcome.message?.contains("not sent") == true)
            #expect(outcome.elapsed < .milliseconds(500) + .milliseconds(1500))
            _ = try await holder.value
            try await client.query("SELECT 1")
        }
    }

    /// Polls until `client` answers a query (for at most 10 s).
    static func untilAnswered(_ client: PostgresClient) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                try await client.query("SELECT 1")
                return
            } catch {
                guard ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Runs `count` concurrent callers and reports, for each, how it ended and after how long.
    /// Callers still without an answer after `bound` are reported as unanswered (and left
    /// running), so that a hang fails the test instead of stalling it.
    static func callers(
        _ count: Int, bound: Duration, _ call: @escaping @Sendable (Int) async throws -> some Sendable
    ) async throws -> [CallOutcome] {
        // Unstructured tasks: a call that never returns must not keep this function waiting.
        let start = ContinuousClock.now
        let outcomes = OutcomeTable(count)
        for index in 0..<count {
            Task {
                var outcome = CallOutcome(answered: true, elapsed: .zero)
                do {
                    _ = try await call(index)
                } catch let error as PostgresError {
                    (outcome.code, outcome.message, outcome.sqlState) = (error.code, error.message, error.sqlState)
                } catch {
                    outcome.message = "\(error)"
                }
                outcome.elapsed = ContinuousClock.now - start
                outcomes.record(outcome, at: index)
            }
        }
        while outcomes.pending, ContinuousClock.now - start < bound {
            try await Task.sleep(for: .milliseconds(20))
        }
        return outcomes.all.map { $0 ?? CallOutcome(answered: false, elapsed: bound) }
    }
}

/// How one call ended: succeeded (no code), failed (its code), or never answered.
struct CallOutcome: Sendable {
    var answered: Bool
    var elapsed: Duration
    var code: PostgresError.Code?
    var message: String?
    var sqlState: String?

    var description: String {
        guard answered else { return "no answer after \(elapsed)" }
        let result = code.map { "\($0) error (\(message ?? ""))" } ?? "success"
        return "\(result) after \(elapsed)"
    }
}

/// The outcomes of concurrent callers, filled in as they finish.
private final class OutcomeTable: Sendable {
    private let outcomes: Mutex<[CallOutcome?]>

    init(_ count: Int) { outcomes = Mutex([CallOutcome?](repeating: nil, count: count)) }

    func record(_ outcome: CallOutcome, at index: Int) { outcomes.withLock { $0[index] = outcome } }
    var pending: Bool { outcomes.withLock { $0.contains { $0 == nil } } }
    var all: [CallOutcome?] { outcomes.withLock { $0 } }
}
