import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore
import Logging
import PoolConfig
import PoolProtocol
import Registry
import TaskStore
import ServiceLifecycle
import ServiceSupport

/// `gateway [--config FILE]`: the HTTP/JSON API (contract section 1).
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway", abstract: "Serves the AgentPool HTTP/JSON API.")

    @Option(help: "The pool file (default: POOL_CONFIG or pool.yaml).")
    var config: String?

    /// Request bodies above this get 413.
    static let maxBodySize = 1024 * 1024

    /// Redis connections, each with a thread of its own. A spawn holds one for a single
    /// `PUBLISH` (the leader check is remembered, see `LeaderSightings`) and the pools
    /// endpoints for two pipelines every 200 ms at most (`PoolFigures`), each well under a
    /// millisecond: even thousands of spawns a second keep fewer than one busy on average,
    /// and a burst's requests queue for microseconds. More would only cost memory.
    static let redisPoolSize = 4

    func run() async throws {
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration.load(configPath: config)
        } catch {
            StartupFailure.exit(program: "gateway", error: error)
        }
        let settings = configuration.settings
        MallocTuning.limitArenas()
        LoggingSetup.bootstrap(settings: settings)
        MetricsSetup.bootstrap()
        let logger = Logger(label: "agentpool.gateway")

        let clients = Clients(settings: settings, redisPoolSize: Self.redisPoolSize, logger: logger)
        let pools = configuration.pools.pools
        let registries = Dictionary(uniqueKeysWithValues: pools.map { ($0.name, PoolRegistry(redis: clients.redis, pool: $0.name)) })
        let directory = PoolDirectory(pools: pools, reader: RegistryReader(figures: RegistryFiguresReader(redis: clients.redis)))
        let outcomes = AgentOutcomes()
        let lifecycle = AgentLifecycle(
            store: clients.store, registries: registries, outcomes: outcomes, timeout: settings.spawnTimeout, logger: logger)
        let taskUpdates = Mailboxes<TaskUpdated>()
        var taskSettings = TaskAPISettings(answerTimeout: settings.spawnTimeout)
        do {
            if let interval = try Self.keepAliveInterval(ProcessInfo.processInfo.environment) { taskSettings.keepAliveInterval = interval }
        } catch {
            StartupFailure.exit(program: "gateway", error: error)
        }
        let tasks = TaskService(
            pools: pools, agents: clients.store, store: TaskStore(client: clients.postgres), queue: TaskQueue(redis: clients.redis),
            wakeups: taskUpdates, settings: taskSettings, logger: logger)

        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: CanonicalMetricsPath())
        router.add(middleware: MetricsMiddleware())
        // Before routing, so that any /api/v1 path without a valid key answers 401, even one
        // that does not exist (contract: 401 before 404/405).
        router.add(middleware: APIKeyMiddleware(keys: settings.apiKeys, protectedPrefix: "/api/v1"))
        let routes = RouteTable()
        router.add(middleware: MethodNotAllowedMiddleware(routes: routes))
        // Metrics on the public port unless METRICS_PORT moves them to a port of their own.
        let schema = SchemaStatus()
        HealthRoutes(readiness: ReadinessCheck(clients: clients, schema: schema, logger: logger), servesMetrics: settings.metricsPort == nil)
            .register(on: router)
        DashboardRoutes().register(on: router)
        let api = router.group("api/v1")
        PoolRoutes(directory: directory).register(on: api)
        AgentRoutes(directory: directory, lifecycle: lifecycle, store: clients.store, maxBodySize: Self.maxBodySize).register(on: api)
        TaskRoutes(directory: directory, service: tasks, maxBodySize: Self.maxBodySize).register(on: api)
        routes.load(from: router)

        let app = Application(
            router: router,
            server: .http1(configuration: Self.http1(idleTimeout: settings.gatewayIdleTimeout)),
            configuration: .init(address: .hostname(settings.gatewayHost, port: settings.gatewayPort), serverName: "agentpool"),
            services: clients.services + [
                OutcomeListener(
                    pools: pools.map(\.name), redis: settings.redis, outcomes: outcomes, taskUpdates: taskUpdates, logger: logger),
                SchemaMigration(clients: clients, status: schema, logger: logger),
            ] + (settings.metricsPort.map { [MetricsServer(host: settings.gatewayHost, port: $0, logger: logger)] } ?? []),
            logger: logger)
        logger.info(
            "Gateway listening",
            metadata: ["address": "\(settings.gatewayHost):\(settings.gatewayPort)", "auth": "\(settings.apiKeys.isEmpty ? "off" : "api keys")"])
        try await app.runService()
    }
}

extension GatewayCommand {
    /// Connection limits, so that a client exposed to the gateway without a proxy in front
    /// cannot hold connections open for free (slowloris): a connection is closed after
    /// `idleTimeout` without a complete request part (an idle keep-alive, a head sent slowly),
    /// and when a request is not fully received `idleTimeout` after its head. Answering takes
    /// as long as it takes (a spawn waits up to `SPAWN_TIMEOUT`) and is not counted.
    static func http1(idleTimeout: Duration) -> HTTP1Channel.Configuration {
        let limit = TimeAmount.nanoseconds(Int64(idleTimeout / .nanoseconds(1)))
        return HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestReadTimeout(limit: limit)], idleTimeout: limit)
    }
}

extension GatewayCommand {
    /// `SSE_KEEPALIVE_INTERVAL`: seconds between keep-alive comments of a silent event stream
    /// (default 15, the contract's bound; tests shorten it). Nil when unset.
    static func keepAliveInterval(_ environment: [String: String]) throws -> Duration? {
        guard let text = environment["SSE_KEEPALIVE_INTERVAL"]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        guard let seconds = Double(text), seconds.isFinite, seconds > 0, seconds <= 15 else {
            throw StartupFailure("SSE_KEEPALIVE_INTERVAL (environment): expected seconds greater than 0 and at most 15, found \"\(text.prefix(32))\"")
        }
        return .seconds(seconds)
    }
}

/// Applies migrations in the background, so that `/healthz` answers while the database is
/// still coming up (and `/readyz` tells the truth meanwhile: not ready until migrated).
struct SchemaMigration: Service {
    let clients: Clients
    let status: SchemaStatus
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            try await clients.waitUntilReady(logger: logger)
            status.markMigrated()
        }
        // Stay up until shutdown: a Service that returns early would end the group.
        try? await gracefulShutdown()
    }
}
