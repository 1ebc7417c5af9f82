import AgentStore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PoolConfig
import PoolCore
import PoolProtocol
import Redis
import Registry
import ServiceLifecycle
import ServiceSupport

/// One pool's manager: competes for the pool's leadership and, while it leads, runs a
/// `PoolLeader` fed by the requests and events channels and a reconcile timer. Several
/// replicas may run; the others wait as standbys.
struct PoolManager: Service {
    let definition: PoolDefinition
    let clients: Clients
    let redisConfiguration: RedisConfiguration
    let launcher: ChildWorkerLauncher?
    let logger: Logger

    /// How long a leadership lasts without renewal; a standby takes over within it.
    static let leaseTime: Duration = .seconds(5)

    private var registry: PoolRegistry { PoolRegistry(redis: clients.redis, pool: definition.name) }

    func run() async throws {
        let lease = LeaderLease(redis: clients.redis, epochs: LeadershipStore(client: clients.postgres), pool: definition.name, token: Identifier.make(), ttl: Self.leaseTime)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if let epoch = try? await lease.tryAcquire() {
                    await lead(epoch: epoch, lease: lease)
                }
                try? await Task.sleep(for: Self.leaseTime / 5)
            }
        }
        try? await lease.release()
    }

    /// Acts as leader until the lease is lost or the task is cancelled.
    private func lead(epoch: Int, lease: LeaderLease) async {
        logger.info("Leading pool", metadata: ["epoch": "\(epoch)"])
        let leader = PoolLeader(
            definition: definition, epoch: epoch, registry: registry, store: clients.store, launcher: launcher, logger: logger)
        let subscriber = RedisSubscriber(
            configuration: redisConfiguration,
            channels: [RedisKeys.poolRequests(definition.name), RedisKeys.poolEvents(definition.name)],
            logger: logger)
        await launcher?.setEventHandler { event in await leader.handle(event) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await keepLease(lease) }
            group.addTask { await subscriber.run() }
            group.addTask { await receive(subscriber.events, leader: leader) }
            group.addTask { await reconcileTimer(leader) }
            // Whichever ends first (the lease lost, or cancellation) ends this leadership.
            await group.next()
            group.cancelAll()
        }
        await launcher?.setEventHandler(nil)
        logger.info("Leadership ended", metadata: ["epoch": "\(epoch)"])
    }

    /// Renews the lease every fifth of its time; returns when it is lost, or when renewals
    /// kept failing for half the lease time, so that this manager stops acting before
    /// another can take over.
    private func keepLease(_ lease: LeaderLease) async {
        var lastRenewal = ContinuousClock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.leaseTime / 5)
            do {
                guard try await lease.renew() else {
                    logger.warning("Lost the pool's leadership")
                    return
                }
                lastRenewal = .now
            } catch {
                if ContinuousClock.now - lastRenewal > Self.leaseTime / 2 {
                    logger.error("Could not renew leadership; stepping down", metadata: ["error": "\(error)"])
                    return
                }
            }
        }
    }

    private func receive(_ events: AsyncStream<RedisSubscriberEvent>, leader: PoolLeader) async {
        for await event in events {
            switch event {
            case .subscribed:
                // Messages may have been missed while (re)connecting: reconcile.
                await leader.reconcile()
            case .message(let channel, let payload):
                do {
                    await leader.handle(try MessageCodec.decode(payload))
                } catch {
                    logger.warning("Dropped a line", metadata: ["channel": "\(channel)", "reason": "\(error)"])
                }
            }
        }
    }

    private func reconcileTimer(_ leader: PoolLeader) async {
        let interval = min(definition.heartbeatInterval, .seconds(5))
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            await leader.reconcile()
        }
    }
}
