import Foundation
import Logging
import Postgres
import TestSupport
import Testing

/// The servers the integration tests use, from the environment the project's test command
/// sets up. Missing variables fail the test (they do not skip it): a skipped database test
/// looks green while proving nothing.
enum TestDatabase {
    /// Through PgBouncer in transaction pooling mode, as the services connect.
    static let pgbouncer = "PGBOUNCER_URL"
    /// Straight to PostgreSQL, for what PgBouncer hides (backend pids, terminating them).
    static let direct = "POSTGRES_DIRECT_URL"

    static let logger: Logger = {
        var logger = Logger(label: "PostgresTests")
        logger.logLevel = .notice
        return logger
    }()

    /// The configuration in `variable`, or a failure telling how to run these tests.
    static func configuration(_ variable: String) throws -> PostgresConfiguration {
        let url = try TestServersEnvironment.required(variable)
        return try PostgresConfiguration(url: url)
    }

    /// Runs `body` with a client for `variable` and always closes it afterwards. Suites that
    /// queue hundreds of callers on a few connections pass a generous `poolTimeout`: the
    /// clients stage runs suites side by side, and on a loaded machine the last in line waits
    /// longer than the default 5 s (a fresh-clone run saw 500 callers on 3 connections take
    /// 4.4–4.7 s, and once more than 5).
    static func withClient<T>(
        _ variable: String = pgbouncer, poolSize: Int = 3, poolTimeout: Duration? = nil,
        _ body: (PostgresClient) async throws -> T
    ) async throws -> T {
        var configuration = try configuration(variable)
        if let poolTimeout { configuration.poolTimeout = poolTimeout }
        return try await withClient(configuration, poolSize: poolSize, body)
    }

    /// Runs `body` with a client for `configuration` and always closes it afterwards.
    static func withClient<T>(
        _ configuration: PostgresConfiguration, poolSize: Int, _ body: (PostgresClient) async throws -> T
    ) async throws -> T {
        let client = PostgresClient(configuration: configuration, poolSize: poolSize, logger: logger)
        do {
            let value = try await body(client)
            await client.close()
            return value
        } catch {
            await client.close()
            throw error
        }
    }

    /// A table name no other test (or test run) uses.
    static func uniqueTable(_ purpose: String) -> String {
        "pgtest_\(purpose)_\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Creates a uniquely named table, runs `body` with its name, and drops it afterwards
    /// (also when `body` fails).
    static func withTable<T>(
        _ client: PostgresClient, _ purpose: String, _ columns: String,
        _ body: (String) async throws -> T
    ) async throws -> T {
        let table = uniqueTable(purpose)
        try await client.query("CREATE TABLE \(table) (\(columns))")
        do {
            let value = try await body(table)
            try await client.query("DROP TABLE \(table)")
            return value
        } catch {
            _ = try? await client.query("DROP TABLE IF EXISTS \(table)")
            throw error
        }
    }
}
