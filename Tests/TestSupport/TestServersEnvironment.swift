#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the test command (`scripts/test`) exports for the suites: the servers it started and
/// the executables it built. A missing variable fails the test with the fix, never skips it: a
/// skipped server test looks green while proving nothing.
public enum TestServersEnvironment {
    /// The value of `name`, or a `SetupError` saying how to run the suite that needs it.
    public static func required(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw SetupError(
                "\(name) is not set: run the tests through the project's test command (scripts/test), which starts Redis, "
                    + "PostgreSQL and PgBouncer on loopback, builds the executables and sets REDIS_URL, PGBOUNCER_URL, "
                    + "POSTGRES_DIRECT_URL, AGENTPOOL_BIN_DIR and AGENTPOOL_REPO")
        }
        return value
    }
}
