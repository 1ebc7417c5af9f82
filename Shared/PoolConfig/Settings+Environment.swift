import Postgres
import Redis

extension Settings {
    /// Builds the settings from merged variables; every rule is checked here.
    init(reading variables: EnvironmentVariables) throws(ConfigurationError) {
        self.init()
        redis = try Self.redis(from: variables)
        database = try Self.database(from: variables)
        try readDeadlines(from: variables)
        apiKeys = variables.secret("API_KEYS").map { keys in
            keys.split(separator: ",").map { EnvironmentVariables.trimmed($0) }.filter { !$0.isEmpty }
        } ?? []
        spawnTimeout = try variables.seconds("SPAWN_TIMEOUT") ?? spawnTimeout
        gatewayHost = variables.string("GATEWAY_HOST") ?? gatewayHost
        gatewayPort = try variables.port("GATEWAY_PORT") ?? gatewayPort
        gatewayIdleTimeout = try variables.seconds("GATEWAY_IDLE_TIMEOUT") ?? gatewayIdleTimeout
        metricsPort = try variables.port("METRICS_PORT")
        if let metricsPort, metricsPort == gatewayPort {
            throw variables.error("METRICS_PORT", "must differ from GATEWAY_PORT (\(gatewayPort)); leave it unset to serve /metrics on the gateway's port")
        }
        poolConfigPath = variables.string("POOL_CONFIG") ?? poolConfigPath
        databasePoolSize = try variables.integer("DB_POOL_SIZE", in: 1...100, expected: "a number from 1 to 100") ?? databasePoolSize
        logLevel = try variables.choice("LOG_LEVEL", among: Self.logLevels) ?? logLevel
        logFormat = try variables.choice("LOG_FORMAT", among: Self.logFormats) ?? logFormat
    }

    /// `REDIS_URL` wins over the separate variables.
    private static func redis(from variables: EnvironmentVariables) throws(ConfigurationError) -> RedisConfiguration {
        if let url = variables.secret("REDIS_URL") {
            do {
                return try RedisConfiguration(url: EnvironmentVariables.trimmed(url))
            } catch {
                throw invalidURL("REDIS_URL", url, reason: error.message, expected: "redis://[[user]:password@]host:port/db", variables)
            }
        }
        return RedisConfiguration(
            host: variables.string("REDIS_HOST") ?? "localhost",
            port: try variables.port("REDIS_PORT") ?? 6379,
            username: variables.string("REDIS_USERNAME"),
            password: variables.secret("REDIS_PASSWORD"),
            database: try variables.integer("REDIS_DB", in: 0...Int(Int32.max), expected: "a database number (0 or more)") ?? 0)
    }

    /// `PGBOUNCER_URL` wins over the separate variables.
    private static func database(from variables: EnvironmentVariables) throws(ConfigurationError) -> PostgresConfiguration {
        if let url = variables.secret("PGBOUNCER_URL") {
            do {
                return try PostgresConfiguration(url: EnvironmentVariables.trimmed(url))
            } catch {
                throw invalidURL("PGBOUNCER_URL", url, reason: error.message, expected: "postgresql://user:password@host:port/database", variables)
            }
        }
        return PostgresConfiguration(
            host: variables.string("POSTGRES_SERVER") ?? "localhost",
            port: try variables.port("POSTGRES_PORT") ?? 5432,
            user: variables.string("POSTGRES_USER") ?? "agentpool",
            password: variables.secret("POSTGRES_PASSWORD"),
            database: variables.string("POSTGRES_DB") ?? "agentpool")
    }

    /// Says what is wrong with a connection URL, showing only its scheme, host and port, and
    /// the client's reason only when it holds no credentials.
    private static func invalidURL(
        _ name: String, _ url: String, reason: String, expected: String, _ variables: EnvironmentVariables
    ) -> ConfigurationError {
        var message = "invalid URL"
        if let origin = URLCredentials.redactedOrigin(of: url) { message += " \(origin)" }
        if let reason = URLCredentials.safeReason(reason, for: url) {
            message += ": \(reason)"
        }
        return variables.error(name, message + " (expected \(expected))")
    }
}
