import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import PoolConfig
import PoolProtocol
import Registry
import ServiceLifecycle
import UnixSignals
import ServiceSupport

/// `worker --pool NAME`: hosts up to `max_agents_per_process` agents of one pool.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Hosts agents of one AgentPool pool: registers in Redis, heartbeats, takes commands.")

    @Option(help: "The pool to serve (a name from the pool file).")
    var pool: String

    @Option(help: "The pool file (default: POOL_CONFIG or pool.yaml).")
    var config: String?

    @Option(name: .customLong("process-id"), help: "This worker's id (a UUID); managers assign one when they launch a worker.")
    var processID: String?

    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus metrics on this loopback port (default: off).")
    var metricsPort: Int?

    func run() async throws {
        let configuration: ServiceConfiguration
        let definition: PoolDefinition
        let processID: String
        do {
            configuration = try ServiceConfiguration.load(configPath: config)
            guard let selected = try configuration.selectPools(pool).first else { throw StartupFailure("no pool") }
            definition = selected
            if let given = self.processID {
                guard let canonical = Identifier.canonical(given) else {
                    throw StartupFailure("--process-id: expected a UUID, found \"\(given.prefix(64))\"")
                }
                processID = canonical
            } else {
                processID = Identifier.make()
            }
        } catch {
            StartupFailure.exit(program: "worker", error: error)
        }

        MallocTuning.limitArenas()
        LoggingSetup.bootstrap(settings: configuration.settings)
        MetricsSetup.bootstrap()
        var logger = Logger(label: "agentpool.worker")
        logger[metadataKey: "pool"] = "\(definition.name)"
        logger[metadataKey: "process_id"] = "\(processID)"

        let clients = Clients(settings: configuration.settings, logger: logger)
        let identity = WorkerIdentity(
            processID: processID, pid: Int(getpid()), host: ProcessInfo.processInfo.hostName,
            maxAgents: definition.maxAgentsPerProcess)
        let worker = WorkerService(
            identity: identity, definition: definition, clients: clients,
            redisConfiguration: configuration.settings.redis, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = clients.services.map { .init(service: $0) } + [.init(service: worker)]
        if let metricsPort { services.append(.init(service: MetricsServer(port: metricsPort, logger: logger))) }
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
