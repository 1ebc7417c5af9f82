import AgentStore
import EventLoopExecution
import Logging
import PoolConfig
import Postgres
import Redis
import ServiceLifecycle

/// The Redis and PostgreSQL clients a service uses, built from settings.
public struct Clients: Sendable {
    public let redis: RedisClient
    public let postgres: PostgresClient
    public let store: AgentStore

    public init(settings: Settings, redisPoolSize: Int = 8, logger: Logger) {
        redis = RedisClient(configuration: settings.redis, poolSize: redisPoolSize, logger: logger)
        postgres = PostgresClient(configuration: settings.database, poolSize: settings.databasePoolSize, logger: logger)
        store = AgentStore(client: postgres)
    }

    /// Waits until Redis answers and the schema is migrated, retrying with backoff (up to
    /// 5 s between tries) so that services may start before their dependencies. Each
    /// failure is logged once per try without secrets. Throws only on cancellation.
    public func waitUntilReady(logger: Logger) async throws {
        var delay = Duration.milliseconds(100)
        var redisReady = false
        while true {
            do {
                if !redisReady {
                    try await redis.ping()
                    redisReady = true
                    logger.info("✓ Connected to Redis successfully")
                }
                let applied = try await PostgresMigrator(client: postgres, logger: logger).apply(AgentSchema.migrations)
                if !applied.isEmpty { logger.info("Applied database migrations", metadata: ["versions": "\(applied)"]) }
                return
            } catch {
                logger.warning(
                    "Waiting for \(redisReady ? "the database" : "Redis")",
                    metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                try await Task.sleep(for: delay, clock: .eventLoop)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// Both clients as services, for the front of an executable's `ServiceGroup`: a group
    /// shuts its services down in reverse order, so the clients close after every service
    /// that uses them has finished (a worker's drain still reaches Redis and PostgreSQL).
    public var services: [any Service] { [redis, postgres] }

    /// Closes both clients (for code that runs them outside a service group).
    public func close() async {
        await redis.close()
        await postgres.close()
    }
}
