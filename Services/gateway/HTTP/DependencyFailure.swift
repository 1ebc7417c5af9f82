import Postgres
import Redis

/// Errors that mean Redis or PostgreSQL is unreachable rather than that the request is wrong:
/// the API answers them 503 so that clients retry.
enum DependencyFailure {
    static func isDependencyFailure(_ error: any Error) -> Bool {
        if let error = error as? RedisError {
            return error.code != .server
        }
        if let error = error as? PostgresError {
            // A timeout means the database stopped answering; the statement may have run, so
            // the client retries with the same Idempotency-Key.
            return [.connection, .shutdown, .timeout, .poolTimeout].contains(error.code)
        }
        return false
    }
}
