import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PoolConfig
import ServiceLifecycle
import UnixSignals
import ServiceSupport

/// `manager [--pool NAME] [--config FILE]`: one manager per pool of the file, each independent.
struct ManagerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manager",
        abstract: "Manages AgentPool pools: places agents, launches and heals workers, reconciles.")

    @Option(help: "Manage only this pool (default: every pool of the file).")
    var pool: String?

    @Option(help: "The pool file (default: POOL_CONFIG or pool.yaml).")
    var config: String?

    @Option(name: .customLong("worker-path"), help: "The worker executable to launch (default: the pool's worker_path, else `worker` beside this manager).")
    var workerPath: String?

    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus metrics on this loopback port (default: MANAGER_METRICS_PORT, else off).")
    var metricsPort: Int?

    func run() async throws {
        let configuration: ServiceConfiguration
        let pools: [PoolDefinition]
        do {
            configuration = try ServiceConfiguration.load(configPath: config)
            pools = try configuration.selectPools(pool)
        } catch {
            StartupFailure.exit(program: "manager", error: error)
        }

        MallocTuning.limitArenas()
        LoggingSetup.bootstrap(settings: configuration.settings)
        MetricsSetup.bootstrap()
        let logger = Logger(label: "agentpool.manager")
        let clients = Clients(settings: configuration.settings, logger: logger)
        try await clients.waitUntilReady(logger: logger)

        let configPath = URL(fileURLWithPath: configuration.pools.path).standardizedFileURL.path
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = clients.services.map { .init(service: $0) }
        for definition in pools {
            var poolLogger = logger
            poolLogger[metadataKey: "pool"] = "\(definition.name)"
            let launcher: ChildWorkerLauncher? = switch definition.launcher {
            case .process:
                ChildWorkerLauncher(
                    definition: definition,
                    executable: ChildWorkerLauncher.workerExecutable(for: definition, override: workerPath),
                    configPath: configPath, logger: poolLogger)
            case .external: nil
            }
            services.append(.init(service: PoolManager(
                definition: definition, clients: clients, redisConfiguration: configuration.settings.redis,
                launcher: launcher, logger: poolLogger)))
            logger.info("✓ Auto-created manager: \(definition.name) (\(definition.role))")
        }
        if let port = metricsPort ?? ProcessInfo.processInfo.environment["MANAGER_METRICS_PORT"].flatMap(Int.init) {
            services.append(.init(service: MetricsServer(port: port, logger: logger)))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
