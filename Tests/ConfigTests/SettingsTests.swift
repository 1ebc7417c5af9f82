import Foundation
import PoolConfig
import Postgres
import Redis
import Testing

/// Loads settings from `environment` only (no `.env`), expecting it to fail.
func settingsError(_ environment: [String: String]) -> ConfigurationError? {
    do {
        _ = try Settings.load(environment: environment, dotEnvPath: nil)
        return nil
    } catch {
        return error
    }
}

/// Writes `text` to a fresh temporary `.env` file and hands its path to `body`.
func withDotEnv<T>(_ text: String, _ body: (String) throws -> T) throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("config-tests-\(UUID().uuidString).env").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

@Suite struct SettingsTests {
    @Test func defaultsWithNothingSet() throws {
        let settings = try Settings.load(environment: [:], dotEnvPath: nil)
        #expect(settings == Settings())
        #expect(settings.redis == RedisConfiguration(host: "localhost", port: 6379, password: nil, database: 0))
        #expect(settings.database == PostgresConfiguration(host: "localhost", port: 5432, user: "agentpool", database: "agentpool"))
        #expect(settings.apiKeys.isEmpty && settings.spawnTimeout == .seconds(30))
        #expect(settings.gatewayHost == "127.0.0.1" && settings.gatewayPort == 8000 && settings.metricsPort == nil)
        #expect(settings.poolConfigPath == "pool.yaml" && settings.databasePoolSize == 3)
        #expect(settings.logLevel == "info" && settings.logFormat == "text")
    }

    @Test func missingDotEnvFileIsFine() throws {
        let settings = try Settings.load(environment: [:], dotEnvPath: "/nonexistent/dir/.env")
        #expect(settings == Settings())
    }

    @Test func everyVariable() throws {
        let settings = try Settings.load(environment: [
            "REDIS_HOST": "redis.internal", "REDIS_PORT": "6380", "REDIS_USERNAME": "pool",
            "REDIS_PASSWORD": "pw", "REDIS_DB": "2",
            "POSTGRES_SERVER": "db", "POSTGRES_PORT": "6432", "POSTGRES_USER": "u",
            "POSTGRES_PASSWORD": "p", "POSTGRES_DB": "d",
            "API_KEYS": " k1, ,k2 ,", "SPAWN_TIMEOUT": "2.5", "GATEWAY_HOST": "0.0.0.0",
            "GATEWAY_PORT": "9000", "METRICS_PORT": "9100", "POOL_CONFIG": "/etc/pool.yaml",
            "DB_POOL_SIZE": "7", "LOG_LEVEL": "DEBUG", "LOG_FORMAT": "json",
        ], dotEnvPath: nil)
        #expect(settings.redis == RedisConfiguration(host: "redis.internal", port: 6380, username: "pool", password: "pw", database: 2))
        #expect(settings.database == PostgresConfiguration(host: "db", port: 6432, user: "u", password: "p", database: "d"))
        #expect(settings.apiKeys == ["k1", "k2"])
        #expect(settings.spawnTimeout == .milliseconds(2500))
        #expect(settings.gatewayHost == "0.0.0.0" && settings.gatewayPort == 9000 && settings.metricsPort == 9100)
        #expect(settings.poolConfigPath == "/etc/pool.yaml" && settings.databasePoolSize == 7)
        #expect(settings.logLevel == "debug" && settings.logFormat == "json")
    }

    @Test func urlsWinOverSeparateVariables() throws {
        let settings = try Settings.load(environment: [
            "REDIS_URL": "redis://:secret@cache:6390/3", "REDIS_HOST": "ignored", "REDIS_PORT": "1",
            "PGBOUNCER_URL": "postgresql+psycopg://app:pw@pgbouncer:6432/agents", "POSTGRES_SERVER": "ignored",
        ], dotEnvPath: nil)
        #expect(settings.redis.host == "cache" && settings.redis.port == 6390)
        #expect(settings.redis.password == "secret" && settings.redis.database == 3)
        #expect(settings.database == PostgresConfiguration(host: "pgbouncer", port: 6432, user: "app", password: "pw", database: "agents"))
        for scheme in ["postgresql", "postgres"] {
            let other = try Settings.load(environment: ["PGBOUNCER_URL": "\(scheme)://app:pw@h:7000/x"], dotEnvPath: nil)
            #expect(other.database.host == "h" && other.database.port == 7000 && other.database.database == "x")
        }
    }

    @Test func seedsDotEnvWithEmptyRedisPassword() throws {
        // The guide's names have a stray space ("vibesd lc"); a URL cannot hold one, so the
        // file is used with it taken out. DotEnvTests reads the verbatim text.
        let text = seedDotEnv.replacingOccurrences(of: "vibesd lc", with: "vibesdlc")
        let settings = try withDotEnv(text) { path in try Settings.load(environment: [:], dotEnvPath: path) }
        #expect(settings.redis == RedisConfiguration(host: "localhost", port: 6379, password: nil, database: 0))
        #expect(settings.database == PostgresConfiguration(
            host: "localhost", port: 6432, user: "vibesdlc_user", password: "your_password", database: "vibesdlc"))
    }

    @Test func environmentWinsOverDotEnv() throws {
        let text = "REDIS_PORT=6390\nGATEWAY_PORT=9000\nAPI_KEYS=from-file\n"
        let settings = try withDotEnv(text) { path in
            try Settings.load(environment: ["GATEWAY_PORT": "9001", "API_KEYS": "from-env"], dotEnvPath: path)
        }
        #expect(settings.redis.port == 6390)
        #expect(settings.gatewayPort == 9001)
        #expect(settings.apiKeys == ["from-env"])
    }

    @Test func badValueInDotEnvNamesFileAndLine() throws {
        let (error, path) = try dotEnvLoadError("# settings\nREDIS_PORT=abc\n")
        #expect(error?.description == #"\#(path):2: REDIS_PORT: expected a port number (1-65535), found "abc""#)
    }

    @Test func malformedDotEnvLineIsAnError() throws {
        let (error, path) = try dotEnvLoadError("REDIS_PORT=1\nthis is not a setting\n")
        #expect(error?.description == "\(path):2: expected KEY=VALUE")
    }

    /// Loads settings from a `.env` file holding `text`, expecting it to fail.
    private func dotEnvLoadError(_ text: String) throws -> (ConfigurationError?, String) {
        try withDotEnv(text) { path in
            do {
                _ = try Settings.load(environment: [:], dotEnvPath: path)
                return (nil, path)
            } catch let error as ConfigurationError {
                return (error, path)
            }
        }
    }

    @Test(arguments: [
        (["REDIS_PORT": "abc"], #"environment: REDIS_PORT: expected a port number (1-65535), found "abc""#),
        (["REDIS_PORT": "70000"], #"environment: REDIS_PORT: expected a port number (1-65535), found "70000""#),
        (["POSTGRES_PORT": "0"], #"environment: POSTGRES_PORT: expected a port number (1-65535), found "0""#),
        (["GATEWAY_PORT": "80a"], #"environment: GATEWAY_PORT: expected a port number (1-65535), found "80a""#),
        (["REDIS_DB": "-1"], #"environment: REDIS_DB: expected a database number (0 or more), found "-1""#),
        (["SPAWN_TIMEOUT": "abc"], #"environment: SPAWN_TIMEOUT: expected a number of seconds greater than 0, found "abc""#),
        (["SPAWN_TIMEOUT": "0"], #"environment: SPAWN_TIMEOUT: expected a number of seconds greater than 0, found "0""#),
        (["SPAWN_TIMEOUT": "-3"], #"environment: SPAWN_TIMEOUT: expected a number of seconds greater than 0, found "-3""#),
        (["SPAWN_TIMEOUT": "inf"], #"environment: SPAWN_TIMEOUT: expected a number of seconds greater than 0, found "inf""#),
        (["DB_POOL_SIZE": "101"], #"environment: DB_POOL_SIZE: expected a number from 1 to 100, found "101""#),
        (["LOG_LEVEL": "verbose"], #"environment: LOG_LEVEL: expected one of trace, debug, info, notice, warning, error, critical, found "verbose""#),
        (["LOG_FORMAT": "xml"], #"environment: LOG_FORMAT: expected one of text, json, found "xml""#),
        (["METRICS_PORT": "8000"], "environment: METRICS_PORT: must differ from GATEWAY_PORT (8000); leave it unset to serve /metrics on the gateway's port"),
    ])
    func badValuesNameTheVariable(environment: [String: String], description: String) throws {
        let error = try #require(settingsError(environment))
        #expect(error.description == description)
    }

    @Test(arguments: [
        ["REDIS_URL": "redis://:hunter2@cache:notaport/0"],
        ["REDIS_URL": "redis://user:hunter2@cache:notaport/0"],
        ["REDIS_URL": "redis://:hun%74er2@cache:notaport/0"],
        ["REDIS_URL": "hunter2"],
        ["REDIS_URL": "http://:hunter2@cache:6379/0"],
        ["PGBOUNCER_URL": "mysql://app:hunter2@db:3306/x"],
        ["PGBOUNCER_URL": "postgresql://app:hunter2@db:port/x"],
        ["PGBOUNCER_URL": "postgresql://app:hun/ter2@db:port/x"],
        ["POSTGRES_PASSWORD": "hunter2", "POSTGRES_PORT": "x"],
        ["REDIS_PASSWORD": "hunter2", "REDIS_PORT": "x"],
        ["API_KEYS": "hunter2", "GATEWAY_PORT": "x"],
    ])
    func secretsNeverAppearInErrors(environment: [String: String]) throws {
        let error = try #require(settingsError(environment))
        #expect(!error.description.contains("hunter2"), "\(error)")
        #expect(!error.description.contains("hunter"), "\(error)")
        #expect(!error.description.contains("ter2"), "\(error)")
    }

    @Test func invalidURLShowsSchemeAndHostOnly() throws {
        let error = try #require(settingsError(["PGBOUNCER_URL": "mysql://app:hunter2@db:3306/x"]))
        #expect(error.key == "PGBOUNCER_URL" && error.source == "environment")
        #expect(error.message.hasPrefix("invalid URL mysql://db:3306"))
        let notURL = try #require(settingsError(["REDIS_URL": "hunter2"]))
        #expect(notURL.message.hasPrefix("invalid URL") && notURL.message.contains("(expected redis://"))
    }
}
