import Postgres
import Redis

/// Errors that mean Redis or PostgreSQL cannot serve the request right now rather than that
/// the request is wrong: the API answers them 503 with `Retry-After`, so that clients retry.
///
/// A dependency says "not now" in more ways than a lost connection: Redis answers error
/// replies while a script runs too long (`BUSY`), while it loads its data after a restart
/// (`LOADING`), as a replica that lost its master or is read-only (`MASTERDOWN`,
/// `READONLY`), or in a cluster that is resharding (`TRYAGAIN`, `CLUSTERDOWN`); PostgreSQL
/// and PgBouncer report shutdowns, start-up, too many connections and lost connections as
/// SQLSTATEs. None of those is the client's fault or a bug, so none may be a 500.
enum DependencyFailure {
    /// Which dependency failed, for the error message.
    enum Dependency: String, Sendable {
        case redis = "Redis"
        case postgres = "PostgreSQL"
    }

    /// The dependency that answered "not now", or nil when `error` is not such a failure.
    static func unavailable(_ error: any Error) -> Dependency? {
        if let error = error as? RedisError {
            return isTransient(error) ? .redis : nil
        }
        if let error = error as? PostgresError {
            return isTransient(error) ? .postgres : nil
        }
        return nil
    }

    /// The error-reply prefixes (Redis's first word) that mean "the server cannot serve
    /// this now; the same command may succeed later".
    static let transientRedisReplies: Set<String> = [
        "BUSY", "LOADING", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS",
    ]

    /// A connection, timeout or shutdown failure, or one of ``transientRedisReplies``. A
    /// rejected password (`.configuration`) counts too: it is an operator's fix, not the
    /// request's, and it is what a rotation in progress looks like to the gateway.
    static func isTransient(_ error: RedisError) -> Bool {
        switch error.code {
        case .server:
            let word = error.message.prefix { $0 != " " }
            return transientRedisReplies.contains(String(word))
        case .protocolViolation:
            return false
        default:
            return true
        }
    }

    /// SQLSTATEs that mean the database (or PgBouncer) cannot serve now: class 08 (connection
    /// exception, which PgBouncer also uses for its pool and login errors), 53 (insufficient
    /// resources, such as 53300 too many connections), 57P01 admin shutdown, 57P02 crash
    /// shutdown, 57P03 cannot connect now (starting up or in recovery), 57014 query cancelled
    /// (a statement timeout), 55P03 lock not available (a lock timeout), and 40001/40P01
    /// (serialization failure, deadlock), which succeed when tried again; and 42P01/42883
    /// (undefined table or function), which is what a request sees while the schema is still
    /// being migrated at start (the gateway is not ready yet), not a fault of the request.
    static func isTransientSQLState(_ state: String) -> Bool {
        state.hasPrefix("08") || state.hasPrefix("53")
            || ["57P01", "57P02", "57P03", "57014", "55P03", "40001", "40P01", "42P01", "42883"].contains(state)
    }

    /// A lost or refused connection, a closed client, a cancelled wait, a statement or pool
    /// wait past its deadline (the database stopped answering; a statement may have run, so
    /// the client retries with the same Idempotency-Key), or a transient SQLSTATE.
    static func isTransient(_ error: PostgresError) -> Bool {
        switch error.code {
        case .connection, .shutdown, .cancelled, .timeout, .poolTimeout:
            return true
        case .server:
            return error.sqlState.map(isTransientSQLState) ?? false
        default:
            return false
        }
    }
}
