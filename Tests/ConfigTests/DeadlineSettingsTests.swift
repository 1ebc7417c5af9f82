import PoolConfig
import Postgres
import Redis
import Testing

/// The deadline variables: DB_QUERY_TIMEOUT, DB_POOL_TIMEOUT, REDIS_COMMAND_TIMEOUT,
/// REDIS_POOL_TIMEOUT, REDIS_PING_INTERVAL, REDIS_SUBSCRIBER_TIMEOUT.
@Suite struct DeadlineSettingsTests {
    @Test func defaults() throws {
        let settings = try Settings.load(environment: [:], dotEnvPath: nil)
        #expect(settings.database.queryTimeout == .seconds(5) && settings.database.poolTimeout == .seconds(5))
        #expect(settings.redis.commandTimeout == .seconds(5) && settings.redis.poolTimeout == .seconds(5))
        #expect(settings.redis.subscriberPingInterval == .seconds(1))
        #expect(settings.redis.subscriberReadTimeout == .seconds(3))
    }

    @Test func everyVariableAlsoWithURLs() throws {
        let settings = try Settings.load(environment: [
            "PGBOUNCER_URL": "postgresql://u:p@db:6432/d", "REDIS_URL": "redis://cache:6380/0",
            "DB_QUERY_TIMEOUT": "2.5", "DB_POOL_TIMEOUT": "1", "REDIS_COMMAND_TIMEOUT": "0.75",
            "REDIS_POOL_TIMEOUT": "3", "REDIS_PING_INTERVAL": "0.5", "REDIS_SUBSCRIBER_TIMEOUT": "4",
        ], dotEnvPath: nil)
        #expect(settings.database.queryTimeout == .milliseconds(2500) && settings.database.poolTimeout == .seconds(1))
        #expect(settings.redis.commandTimeout == .milliseconds(750) && settings.redis.poolTimeout == .seconds(3))
        #expect(settings.redis.subscriberPingInterval == .milliseconds(500))
        #expect(settings.redis.subscriberReadTimeout == .seconds(4))
    }

    @Test func pingIntervalAloneSetsThreeIntervalsOfReadTimeout() throws {
        let settings = try Settings.load(environment: ["REDIS_PING_INTERVAL": "2"], dotEnvPath: nil)
        #expect(settings.redis.subscriberReadTimeout == .seconds(6))
    }

    @Test(arguments: [
        (["DB_QUERY_TIMEOUT": "0"], #"environment: DB_QUERY_TIMEOUT: expected a number of seconds greater than 0, found "0""#),
        (["REDIS_POOL_TIMEOUT": "soon"], #"environment: REDIS_POOL_TIMEOUT: expected a number of seconds greater than 0, found "soon""#),
        (["REDIS_PING_INTERVAL": "2", "REDIS_SUBSCRIBER_TIMEOUT": "1"],
         "environment: REDIS_SUBSCRIBER_TIMEOUT: REDIS_SUBSCRIBER_TIMEOUT (1.0 seconds) must be longer than REDIS_PING_INTERVAL (2.0 seconds), or a quiet subscription would be dropped before it pings; a few ping intervals is right"),
        (["REDIS_SUBSCRIBER_TIMEOUT": "0.5"],
         "environment: REDIS_SUBSCRIBER_TIMEOUT: REDIS_SUBSCRIBER_TIMEOUT (0.5 seconds) must be longer than REDIS_PING_INTERVAL (1.0 seconds), or a quiet subscription would be dropped before it pings; a few ping intervals is right"),
    ])
    func badValuesNameTheVariable(environment: [String: String], description: String) throws {
        let error = try #require(settingsError(environment))
        #expect(error.description == description)
    }
}
