import Postgres
import Redis

extension Settings {
    /// The deadlines of every Redis and PostgreSQL call, from the environment (seconds,
    /// fractional allowed); unset ones keep the clients' defaults.
    ///
    /// `DB_QUERY_TIMEOUT` (5) and `DB_POOL_TIMEOUT` (5): a statement's deadline and the wait
    /// for a pooled connection. `REDIS_COMMAND_TIMEOUT` (5) and `REDIS_POOL_TIMEOUT` (5): the
    /// same for Redis. `REDIS_PING_INTERVAL` (1) and `REDIS_SUBSCRIBER_TIMEOUT` (three ping
    /// intervals): how often a quiet subscription pings, and how long it may hear nothing.
    mutating func readDeadlines(from variables: EnvironmentVariables) throws(ConfigurationError) {
        database.queryTimeout = try variables.seconds("DB_QUERY_TIMEOUT") ?? database.queryTimeout
        database.poolTimeout = try variables.seconds("DB_POOL_TIMEOUT") ?? database.poolTimeout
        redis.commandTimeout = try variables.seconds("REDIS_COMMAND_TIMEOUT") ?? redis.commandTimeout
        redis.poolTimeout = try variables.seconds("REDIS_POOL_TIMEOUT") ?? redis.poolTimeout
        if let interval = try variables.seconds("REDIS_PING_INTERVAL") {
            redis.subscriberPingInterval = interval
            redis.subscriberReadTimeout = interval * 3
        }
        redis.subscriberReadTimeout = try variables.seconds("REDIS_SUBSCRIBER_TIMEOUT") ?? redis.subscriberReadTimeout
        guard redis.subscriberReadTimeout > redis.subscriberPingInterval else {
            let name = variables.variable("REDIS_SUBSCRIBER_TIMEOUT") == nil ? "REDIS_PING_INTERVAL" : "REDIS_SUBSCRIBER_TIMEOUT"
            throw variables.error(
                name,
                "REDIS_SUBSCRIBER_TIMEOUT (\(redis.subscriberReadTimeout)) must be longer than REDIS_PING_INTERVAL "
                    + "(\(redis.subscriberPingInterval)), or a quiet subscription would be dropped before it pings; "
                    + "a few ping intervals is right")
        }
    }
}
