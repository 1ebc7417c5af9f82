#if canImport(FoundationEssentials)
import FoundationEssentials
#else
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#endif
import Postgres
import Redis

/// What every AgentPool service reads from the environment (or a `.env` file) at start,
/// with the seed's variable names, checked once.
public struct Settings: Sendable, Equatable {
    /// Redis: from `REDIS_URL`, or `REDIS_HOST`/`REDIS_PORT`/`REDIS_USERNAME`/`REDIS_PASSWORD`/`REDIS_DB`.
    public var redis: RedisConfiguration
    /// PostgreSQL (through PgBouncer): from `PGBOUNCER_URL`, or
    /// `POSTGRES_SERVER`/`POSTGRES_PORT`/`POSTGRES_USER`/`POSTGRES_PASSWORD`/`POSTGRES_DB`.
    public var database: PostgresConfiguration
    /// `API_KEYS`: comma-separated, trimmed, empties dropped; empty means no authentication.
    public var apiKeys: [String]
    /// `SPAWN_TIMEOUT` seconds (fractional allowed): how long a spawn or terminate may take
    /// before the API answers 504.
    public var spawnTimeout: Duration
    /// `GATEWAY_HOST`: the address the gateway listens on.
    public var gatewayHost: String
    /// `GATEWAY_PORT`: the gateway's HTTP port.
    public var gatewayPort: Int
    /// `GATEWAY_IDLE_TIMEOUT` seconds: how long a gateway connection may stay idle, take to
    /// send a request head, or take to send a whole request, before it is closed.
    public var gatewayIdleTimeout: Duration
    /// `METRICS_PORT`: when set, `/metrics` is served on this port of its own.
    public var metricsPort: Int?
    /// `POOL_CONFIG`: the pool file's path.
    public var poolConfigPath: String
    /// `DB_POOL_SIZE`: database connections per process, 1...100.
    public var databasePoolSize: Int
    /// `LOG_LEVEL`: one of ``logLevels``, lowercased.
    public var logLevel: String
    /// `LOG_FORMAT`: `text` or `json`, lowercased.
    public var logFormat: String

    /// The accepted `LOG_LEVEL` values (swift-log's levels).
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
    /// The accepted `LOG_FORMAT` values.
    public static let logFormats = ["text", "json"]

    /// Creates settings; the defaults are those used when no variable is set.
    public init(
        redis: RedisConfiguration = RedisConfiguration(host: "localhost"),
        database: PostgresConfiguration = PostgresConfiguration(),
        apiKeys: [String] = [],
        spawnTimeout: Duration = .seconds(30),
        gatewayHost: String = "127.0.0.1",
        gatewayPort: Int = 8000,
        gatewayIdleTimeout: Duration = .seconds(30),
        metricsPort: Int? = nil,
        poolConfigPath: String = "pool.yaml",
        databasePoolSize: Int = 3,
        logLevel: String = "info",
        logFormat: String = "text"
    ) {
        self.redis = redis
        self.database = database
        self.apiKeys = apiKeys
        self.spawnTimeout = spawnTimeout
        self.gatewayHost = gatewayHost
        self.gatewayPort = gatewayPort
        self.gatewayIdleTimeout = gatewayIdleTimeout
        self.metricsPort = metricsPort
        self.poolConfigPath = poolConfigPath
        self.databasePoolSize = databasePoolSize
        self.logLevel = logLevel
        self.logFormat = logFormat
    }

    /// Reads and checks the settings.
    ///
    /// The process environment wins over the `.env` file; a missing `.env` file is fine; a
    /// malformed `.env` line is an error naming the file and line. A variable set to an
    /// empty value counts as unset. Errors name the variable and where it was set, never a
    /// password, API key or URL credentials.
    ///
    /// - Parameter dotEnvPath: the `.env` file to read, or nil to read none.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        dotEnvPath: String? = ".env"
    ) throws(ConfigurationError) -> Settings {
        var variables = EnvironmentVariables()
        if let dotEnvPath, let text = try ConfigurationFile.readTextIfPresent(atPath: dotEnvPath) {
            for entry in try DotEnv.entries(text, fileName: dotEnvPath) {
                variables.set(entry.key, entry.value, source: dotEnvPath, line: entry.line)
            }
        }
        for (name, value) in environment {
            variables.set(name, value, source: "environment", line: nil)
        }
        return try Settings(reading: variables)
    }
}
