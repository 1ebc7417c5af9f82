import Foundation
import Logging
import PoolConfig
import PoolProtocol
import Redis
import Registry
import ServiceLifecycle
import ServiceSupport

/// The whole life of one worker: register, then heartbeat and take commands until shutdown,
/// then hand its agents back and deregister.
struct WorkerService: Service {
    let identity: WorkerIdentity
    let definition: PoolDefinition
    let clients: Clients
    let redisConfiguration: RedisConfiguration
    let logger: Logger

    private var registry: PoolRegistry { PoolRegistry(redis: clients.redis, pool: definition.name) }

    func run() async throws {
        try await clients.waitUntilReady(logger: logger)
        let host = AgentHost(processID: identity.processID, registry: registry, store: clients.store, logger: logger)
        let subscriber = RedisSubscriber(
            configuration: redisConfiguration, channels: [RedisKeys.poolCommands(definition.name)], logger: logger)
        try await register()

        let receiver = CommandReceiver(processID: identity.processID, host: host, logger: logger)
        try? await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await subscriber.run() }
                group.addTask { await heartbeat(host: host) }
                group.addTask { await receiver.receive(subscriber.events) }
                // The first to return ends the worker: the receiver after a retire command,
                // or all of them on graceful shutdown.
                await group.next()
                group.cancelAll()
            }
        }

        // Graceful shutdown: out of placement first, then agents back to the pool, then leave.
        logger.info("Worker stopping")
        try? await registry.drain(processID: identity.processID)
        try? await registry.publish(.workerStopping(WorkerEvent(processID: identity.processID)), on: .events)
        await host.handOverAll()
        try? await registry.deregister(processID: identity.processID)
        logger.info("Worker deregistered")
    }

    private func register() async throws {
        try await registry.register(identity)
        try await registry.publish(.workerRegistered(WorkerEvent(processID: identity.processID)), on: .events)
        logger.info("Worker registered", metadata: ["max_agents": "\(identity.maxAgents)", "pid": "\(identity.pid)"])
    }

    /// Heartbeats every `heartbeat_interval`. A heartbeat that finds the registration gone
    /// means a manager declared this worker dead: its agents may already run elsewhere, so
    /// they stop here first, and the worker registers afresh.
    private func heartbeat(host: AgentHost) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: definition.heartbeatInterval)
            if Task.isCancelled { return }
            do {
                if try await registry.heartbeat(processID: identity.processID) { continue }
                logger.warning("Registration gone: this worker was declared dead")
                await host.abandonAll()
                try await register()
            } catch {
                logger.warning("Heartbeat failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
