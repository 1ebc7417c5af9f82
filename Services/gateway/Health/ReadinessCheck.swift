import Logging
import Postgres
import Redis
import ServiceSupport
import Synchronization

/// The answer of `GET /readyz`: whether Redis answers `PING` and the database `SELECT 1`,
/// checked at most once per `maxAge` whatever the request rate, once the schema is migrated
/// (before, the API's tables may not exist yet).
///
/// `/readyz` needs no API key, so without this every anonymous request would cost a Redis
/// round trip and a database query (a cheap way to load both). Load balancers and
/// orchestrators poll every few seconds, so an answer up to a second old is as good as a new
/// one. At most one check runs at a time: requests that find the last answer too old share
/// the next check. Failures are kept as long as successes, so a dependency that went away
/// shows as 503 within `maxAge` plus one check.
final class ReadinessCheck: Sendable {
    /// How long an answer is reused.
    static let maxAge: Duration = .seconds(1)

    /// One check's outcome: nil when both answered, else what failed (for the log).
    typealias Outcome = String?

    private struct State {
        var last: (startedAt: ContinuousClock.Instant, outcome: Outcome)?
        var running: Task<Outcome, Never>?
    }

    private let clients: Clients
    private let schema: SchemaStatus
    private let logger: Logger
    private let state = Mutex(State())

    init(clients: Clients, schema: SchemaStatus, logger: Logger) {
        self.clients = clients
        self.schema = schema
        self.logger = logger
    }

    private enum Next {
        case answered(Outcome)
        case wait(Task<Outcome, Never>)
    }

    /// nil when ready, else why not; from a check started less than `maxAge` ago.
    func current() async -> Outcome {
        guard schema.isMigrated else { return "the database schema is not migrated yet" }
        let now = ContinuousClock.now
        let next: Next = state.withLock { state in
            if let last = state.last, now - last.startedAt < Self.maxAge { return .answered(last.outcome) }
            if let running = state.running { return .wait(running) }
            // Unstructured, so that a request that is cancelled does not cancel the check the
            // others wait for.
            let check = Task { await self.check(startedAt: now) }
            state.running = check
            return .wait(check)
        }
        switch next {
        case .answered(let outcome): return outcome
        case .wait(let task): return await task.value
        }
    }

    private func check(startedAt: ContinuousClock.Instant) async -> Outcome {
        let outcome: Outcome
        do {
            try await clients.redis.ping()
            _ = try await clients.postgres.query("SELECT 1")
            outcome = nil
        } catch {
            outcome = "\(error)"
            logger.warning("Not ready", metadata: ["error": "\(error)"])
        }
        state.withLock { state in
            state.last = (startedAt, outcome)
            state.running = nil
        }
        return outcome
    }
}
