import Foundation
import TestSupport

/// Where the real servers and executables are, from the environment the test command
/// (`scripts/test`) exports. Missing variables fail the test with the fix, never skip it.
struct TestEnvironment: Sendable {
    var redisURL: String
    let pgbouncerURL: String
    let postgresDirectURL: String
    let binDirectory: String
    let repository: String
    let logDirectory: String

    static func load() throws -> TestEnvironment {
        let environment = ProcessInfo.processInfo.environment
        func require(_ name: String) throws -> String { try TestServersEnvironment.required(name) }
        let logs = environment["AGENTPOOL_TEST_LOGS"] ?? NSTemporaryDirectory() + "agentpool-test-logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        return TestEnvironment(
            redisURL: try require("REDIS_URL"), pgbouncerURL: try require("PGBOUNCER_URL"),
            postgresDirectURL: try require("POSTGRES_DIRECT_URL"), binDirectory: try require("AGENTPOOL_BIN_DIR"),
            repository: try require("AGENTPOOL_REPO"), logDirectory: logs)
    }

    /// The environment every service of a test gets.
    var serviceEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["REDIS_URL"] = redisURL
        environment["PGBOUNCER_URL"] = pgbouncerURL
        environment["LOG_LEVEL"] = "info"
        for name in ["API_KEYS", "POOL_CONFIG", "GATEWAY_PORT", "GATEWAY_HOST", "SPAWN_TIMEOUT"] {
            environment.removeValue(forKey: name)
        }
        return environment
    }

    func executable(_ name: String) -> String { "\(binDirectory)/\(name)" }
}

