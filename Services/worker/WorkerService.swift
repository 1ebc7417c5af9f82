#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import EventLoopExecution
import Logging
import PoolConfig
import PoolProtocol
import Redis
import Registry
import ServiceLifecycle
import ServiceSupport
import TaskStore

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
        let feed = TaskFeed(configuration: redisConfiguration, consumer: identity.processID, logger: logger)
        let tasks = TaskWiring(
            processID: identity.processID, definition: definition, store: TaskStore(client: clients.postgres),
            queue: TaskQueue(redis: clients.redis), feed: feed, metrics: TaskMetrics(pool: definition.name),
            environment: ProcessInfo.processInfo.environment)
        let host = AgentHost(
            processID: identity.processID, registry: registry, store: clients.store, tasks: tasks, logger: logger)
        let registration = WorkerRegistration(
            identity: identity, registry: registry, host: host, staleAfter: definition.staleAfter,
            heartbeatInterval: definition.heartbeatInterval, logger: logger)
        // Its own channel carries the commands meant for it; the pool's channel is kept for
        // commands sent there (by an older manager, or by hand). Both are subscribed before
        // the worker registers.
        let subscriber = RedisSubscriber(
            configuration: redisConfiguration,
            channels: [RedisKeys.processCommands(identity.processID), RedisKeys.poolCommands(definition.name)],
            logger: logger)
        let receiver = CommandReceiver(
            processID: identity.processID, poolChannel: RedisKeys.poolCommands(definition.name), host: host, logger: logger)

        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await subscriber.run() }
                group.addTask { await receiver.receive(subscriber.events) { await registration.subscribed() } }
                group.addTask { await heartbeat(registration) }
                group.addTask { await watchContact(registration) }
                group.addTask { await feed.run() }
                group.addTask { for await deliveries in feed.deliveries { await host.deliver(deliveries) } }
                group.addTask { await sweepTasks(host) }
                // The first to return ends the worker: the receiver after a retire command,
                // or all of them on graceful shutdown.
                await group.next()
                group.cancelAll()
            }
        }

        // Graceful shutdown: out of placement first, then agents back to the pool (announced, so
        // that the leader places them elsewhere at once), then leave.
        logger.info("Worker stopping")
        try? await registry.drain(processID: identity.processID)
        // Heartbeats go on while the agents' tasks drain (attempts in flight get a few seconds
        // to finish), so that the leader does not take the leaving worker for dead meanwhile.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await keepAliveWhileLeaving() }
            await host.handOverAll()
            group.cancelAll()
        }
        _ = try? await registry.publish(.workerStopping(WorkerEvent(processID: identity.processID)), on: .events)
        _ = try? await registry.deregister(processID: identity.processID)
        logger.info("Worker deregistered")
    }

    /// Heartbeats of a worker that is leaving: only its liveness (it is out of placement, so
    /// its score stays 0), none of the checks of a serving worker.
    private func keepAliveWhileLeaving() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: definition.heartbeatInterval, clock: .eventLoop) } catch { return }
            // A missed one costs nothing while the next comes within stale_after.
            _ = try? await registry.heartbeat(processID: identity.processID)
        }
    }

    /// Reads PostgreSQL for the hosted agents' unfinished tasks every `taskSweepInterval`: the
    /// stream is only the fast path, and this finds whatever it lost.
    private func sweepTasks(_ host: AgentHost) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: Self.taskSweepInterval, clock: .eventLoop) } catch { return }
            await host.sweepTasks()
        }
    }

    /// Short enough that a task lost by Redis waits about as long as a retry's first backoff.
    static let taskSweepInterval = Duration.seconds(2)

    /// Checks four times a heartbeat whether the worker must fence itself off.
    private func watchContact(_ registration: WorkerRegistration) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: definition.heartbeatInterval / 4, clock: .eventLoop) } catch { return }  // cancelled: shutting down
            await registration.watchContact()
        }
    }

    /// Heartbeats every `heartbeat_interval` (and retries a registration that failed).
    private func heartbeat(_ registration: WorkerRegistration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: definition.heartbeatInterval, clock: .eventLoop)
            if Task.isCancelled { return }
            await registration.retryIfNeeded()
            await registration.beat()
        }
    }
}
