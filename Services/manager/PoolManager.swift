import AgentStore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import EventLoopExecution
import Logging
import PoolConfig
import PoolCore
import PoolProtocol
import Redis
import Registry
import ServiceLifecycle
import ServiceSupport
import TaskStore

/// One pool's manager: competes for the pool's leadership and, while it leads, runs a
/// `PoolLeader` (the driver of the leader's state machine) fed by the requests and events
/// channels, a reconcile tick and the launcher's child-process events. Several
/// replicas may run; the others wait as standbys.
///
/// Every replica, standby or leader, stays subscribed to `pool:<name>:requests` (and
/// `:events`) for its whole life, so that a gateway's PUBLISH reaching nobody means that no
/// manager of the pool is alive (the gateway answers 503 at once) rather than "only standbys".
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
        let lease = LeaderLease(
            registry: registry, epochs: LeadershipStore(client: clients.postgres), token: Identifier.make(), ttl: Self.leaseTime)
        let slot = LeaderSlot()
        let subscriber = RedisSubscriber(
            configuration: redisConfiguration,
            channels: [RedisKeys.poolRequests(definition.name), RedisKeys.poolEvents(definition.name)],
            logger: logger)
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await subscriber.run() }
                group.addTask { await receive(subscriber.events, slot: slot) }
                group.addTask { await compete(lease, slot: slot) }
                // All three run until shutdown; the first to end (cancellation) ends them all.
                await group.next()
                group.cancelAll()
            }
        }
        do {
            try await lease.release()
        } catch {
            logger.warning("Could not release the pool's lease; a standby takes over when it expires", metadata: ["error": "\(error)"])
        }
    }

    /// Tries to take the lease every fifth of its time and leads while it holds it.
    private func compete(_ lease: LeaderLease, slot: LeaderSlot) async {
        var failing = false
        while !Task.isCancelled {
            do {
                if let epoch = try await lease.tryAcquire() {
                    failing = false
                    await lead(epoch: epoch, lease: lease, slot: slot)
                }
            } catch {
                if !failing { logger.warning("Cannot compete for the pool's leadership; retrying", metadata: ["error": "\(error)"]) }
                failing = true
            }
            do { try await Task.sleep(for: Self.leaseTime / 5, clock: .eventLoop) } catch { return }
        }
    }

    /// Acts as leader until the lease is lost, a fence refuses this leader, or the task is
    /// cancelled.
    private func lead(epoch: Int, lease: LeaderLease, slot: LeaderSlot) async {
        logger.info("Leading pool", metadata: ["epoch": "\(epoch)"])
        let leader = PoolLeader(
            definition: definition, fence: LeaderFence(token: lease.token, epoch: epoch), registry: registry,
            store: clients.store, launcher: launcher, logger: logger)
        await slot.set(leader)
        await launcher?.setEventHandler { event in leader.handle(event) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await keepLease(lease) }
            // Whatever the requests channel carried before this leadership began (to a
            // standby, or to nobody) is placed from PostgreSQL by the machine's first pass.
            group.addTask { await leader.run() }
            group.addTask { await reconcileTimer(leader) }
            group.addTask {
                let upkeep = TaskUpkeep(
                    definition: definition, registry: registry, store: TaskStore(client: clients.postgres),
                    queue: TaskQueue(redis: clients.redis), logger: logger)
                await upkeep.run(every: min(definition.heartbeatInterval, .seconds(5)))
            }
            // Whichever ends first (the lease lost, a fence, or cancellation) ends this leadership.
            await group.next()
            group.cancelAll()
        }
        await slot.set(nil)
        leader.end()
        await launcher?.setEventHandler(nil)
        logger.info("Leadership ended", metadata: ["epoch": "\(epoch)"])
    }

    /// Renews the lease every fifth of its time; returns when it is lost, or when renewals
    /// kept failing for half the lease time, so that this manager stops acting before
    /// another can take over.
    private func keepLease(_ lease: LeaderLease) async {
        var lastRenewal = ContinuousClock.now
        while !Task.isCancelled {
            do { try await Task.sleep(for: Self.leaseTime / 5, clock: .eventLoop) } catch { return }
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

    /// Hands every message to the current leader; a standby drops them without decoding.
    private func receive(_ events: AsyncStream<RedisSubscriberEvent>, slot: LeaderSlot) async {
        var subscribedBefore = false
        for await event in events {
            switch event {
            case .subscribed:
                // Messages may have been missed while (re)connecting, and heartbeats delayed.
                await slot.current?.subscribed(afterLoss: subscribedBefore)
                subscribedBefore = true
            case .message(let channel, let payload):
                guard let leader = await slot.current else { continue }
                do {
                    leader.handle(try MessageCodec.decode(payload))
                } catch {
                    logger.warning("Dropped a line", metadata: ["channel": "\(channel)", "reason": "\(error)"])
                }
            }
        }
    }

    /// One `tick` per reconcile interval: the machine retries, expires and reconciles on it.
    private func reconcileTimer(_ leader: PoolLeader) async {
        let interval = min(definition.heartbeatInterval, .seconds(5))
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval, clock: .eventLoop) } catch { return }
            leader.tick()
        }
    }
}
