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
            return error.code == .connection || error.code == .shutdown
        }
        return false
    }
}
