import Foundation
import PoolCore
import PoolProtocol
import Redis
@testable import Registry
import Testing

/// The registry's Lua scripts against a real Redis: the free-slot score, reservations and
/// claims change together, so bursts never overfill and heartbeats never undo a reservation.
@Suite("Registry scripts against a real Redis (REDIS_URL)")
struct RegistryScriptTests {
    func withRegistry(_ body: (PoolRegistry) async throws -> Void) async throws { try await TestRegistry.with(body) }
    func worker(slots: Int = 10) -> WorkerIdentity { TestRegistry.worker(slots: slots) }
    func spec(_ registry: PoolRegistry) -> AgentSpec { TestRegistry.spec(registry) }

    /// Moves a worker's last heartbeat (`heartbeat_ms`, on Redis' clock) `seconds` into the past.
    func ageHeartbeat(of processID: String, in registry: PoolRegistry, bySeconds seconds: Int) async throws {
        let stamped = try await registry.redis.send("HGET", RedisKeys.process(processID), "heartbeat_ms").int ?? 0
        _ = try await registry.redis.send("HSET", RedisKeys.process(processID), "heartbeat_ms", String(stamped - seconds * 1000))
    }

    /// Reserves a slot the way the manager does (the reserve script also sends `start_agent`,
    /// so the workers need listeners for it to succeed).
    func reserve(_ registry: PoolRegistry, _ agentID: String = Identifier.make(), for seconds: Double = 60) async throws -> String? {
        try await registry.reserveAndStart(
            AgentSpec(agentID: agentID, name: "a", poolName: registry.pool, role: "developer", metadata: [:]),
            fence: try await TestRegistry.lead(registry), deadline: Date().addingTimeInterval(seconds))
    }

    @Test func registerWritesTheContractFieldsAndFullScore() async throws {
        try await withRegistry { registry in
            let identity = worker()
            try await registry.register(identity)
            let snapshot = try #require(try await registry.workers().first)
            #expect(snapshot.processID == identity.processID)
            #expect(snapshot.freeSlots == 10)
            #expect(snapshot.maxAgents == 10)
            #expect(snapshot.status == .ready)
            let fields = try await registry.redis.send("HKEYS", RedisKeys.process(identity.processID)).array?.compactMap(\.string) ?? []
            for field in ["process_id", "pool_name", "pid", "host", "max_agents", "agent_count", "status", "started_at", "last_heartbeat"] {
                #expect(fields.contains(field), "missing \(field)")
            }
        }
    }

    @Test func concurrentReservationsNeverOverfill() async throws {
        try await withRegistry { registry in
            let first = worker(), second = worker()
            try await registry.register(first)
            try await registry.register(second)
            let results = try await CommandListener.with([first.processID, second.processID]) { (_) async throws in
                try await withThrowingTaskGroup(of: String?.self) { group in
                    for _ in 0..<25 { group.addTask { try await reserve(registry) } }
                    return try await group.reduce(into: [String?]()) { $0.append($1) }
                }
            }
            let placed = results.compactMap { $0 }
            #expect(placed.count == 20)
            #expect(placed.filter { $0 == first.processID }.count == 10)
            #expect(placed.filter { $0 == second.processID }.count == 10)
            #expect(try await registry.workers().allSatisfy { $0.freeSlots == 0 })
        }
    }

    @Test func heartbeatKeepsLiveReservationsAndFreesExpiredOnes() async throws {
        try await withRegistry { registry in
            let identity = worker()
            try await registry.register(identity)
            try await CommandListener.with([identity.processID]) { (_) async throws in
                #expect(try await reserve(registry) == identity.processID)
                #expect(try await reserve(registry, for: 0.2) == identity.processID)
            }
            #expect(try await registry.workers().first?.freeSlots == 8)
            #expect(try await registry.heartbeat(processID: identity.processID) == [])
            #expect(try await registry.workers().first?.freeSlots == 8)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await registry.heartbeat(processID: identity.processID) == [])
            #expect(try await registry.workers().first?.freeSlots == 9)
        }
    }

    @Test func heartbeatReturnsTheAgentsTheRegistryAttributesToTheWorker() async throws {
        try await withRegistry { registry in
            let identity = worker(), other = worker()
            try await registry.register(identity)
            try await registry.register(other)
            let kept = spec(registry), dropped = spec(registry), elsewhere = spec(registry)
            for agent in [kept, dropped] { #expect(try await registry.claimAgent(agent, processID: identity.processID) == .claimed) }
            #expect(try await registry.claimAgent(elsewhere, processID: other.processID) == .claimed)
            #expect(try await registry.heartbeat(processID: identity.processID) == [kept.agentID, dropped.agentID])
            // Dropped behind the worker's back: the next heartbeat no longer lists it.
            _ = try await registry.redis.send("SREM", RedisKeys.processAgents(identity.processID), dropped.agentID)
            #expect(try await registry.heartbeat(processID: identity.processID) == [kept.agentID])
            #expect(try await registry.workers().first { $0.processID == identity.processID }?.agentCount == 1)
        }
    }

    @Test func claimTurnsTheReservationIntoAHostedAgentAndReleaseRemovesEveryKey() async throws {
        try await withRegistry { registry in
            let identity = worker()
            try await registry.register(identity)
            let agent = spec(registry)
            try await CommandListener.with([identity.processID]) { (_) async throws in
                #expect(try await reserve(registry, agent.agentID) == identity.processID)
            }
            #expect(try await registry.claimAgent(agent, processID: identity.processID) == .claimed)
            let redis = registry.redis
            #expect(try await redis.send("HGET", RedisKeys.agent(agent.agentID), "process_id").string == identity.processID)
            #expect(try await redis.send("SISMEMBER", RedisKeys.poolAgents(registry.pool), agent.agentID).int == 1)
            #expect(try await redis.send("SISMEMBER", RedisKeys.processAgents(identity.processID), agent.agentID).int == 1)
            #expect(try await redis.send("ZCARD", RedisKeys.processReservations(identity.processID)).int == 0)
            #expect(try await redis.send("HGET", RedisKeys.process(identity.processID), "agent_count").string == "1")
            #expect(try await registry.workers().first?.freeSlots == 9)

            try await registry.releaseAgent(agentID: agent.agentID, processID: identity.processID)
            #expect(try await redis.send("EXISTS", RedisKeys.agent(agent.agentID)).int == 0)
            #expect(try await redis.send("SISMEMBER", RedisKeys.poolAgents(registry.pool), agent.agentID).int == 0)
            #expect(try await redis.send("SCARD", RedisKeys.processAgents(identity.processID)).int == 0)
            #expect(try await registry.workers().first?.freeSlots == 10)
        }
    }

    @Test func anAgentIsNeverClaimedByTwoLiveWorkers() async throws {
        try await withRegistry { registry in
            let first = worker(), second = worker()
            try await registry.register(first)
            try await registry.register(second)
            let agent = spec(registry)
            #expect(try await registry.claimAgent(agent, processID: first.processID) == .claimed)
            #expect(try await registry.claimAgent(agent, processID: second.processID) == .placedElsewhere)
            // Once the first worker is gone, the agent may be claimed again.
            #expect(try await registry.deregister(processID: first.processID) == [agent.agentID])
            #expect(try await registry.claimAgent(agent, processID: second.processID) == .claimed)
            try await CommandListener.with([second.processID]) { (_) async throws in
                #expect(try await reserve(registry, agent.agentID) == second.processID)
            }
        }
    }

    @Test func drainedAndDeregisteredWorkersTakeNoAgents() async throws {
        try await withRegistry { registry in
            let identity = worker()
            try await registry.register(identity)
            try await registry.drain(processID: identity.processID)
            try await CommandListener.with([identity.processID]) { (listener) async throws in
                #expect(try await reserve(registry) == nil)
                #expect(listener.lineCount == 0)
            }
            #expect(try await registry.workers().first?.status == .draining)
            try await registry.deregister(processID: identity.processID)
            #expect(try await registry.workers().isEmpty)
            #expect(try await registry.heartbeat(processID: identity.processID) == nil)
            #expect(try await registry.claimAgent(spec(registry), processID: identity.processID) == .notRegistered)
        }
    }

    @Test func orphanReleaseLeavesAgentsOfARegisteredWorkerAlone() async throws {
        try await withRegistry { registry in
            let identity = worker()
            try await registry.register(identity)
            let agent = spec(registry)
            #expect(try await registry.claimAgent(agent, processID: identity.processID) == .claimed)
            // The worker registered after the manager's snapshot: not an orphan, nothing changes.
            #expect(try await registry.releaseOrphan(agentID: agent.agentID, processID: identity.processID, fence: try await TestRegistry.lead(registry)) == false)
            #expect(try await registry.redis.send("HGET", RedisKeys.agent(agent.agentID), "process_id").string == identity.processID)
            // Once the worker is really gone, the entry is cleared.
            _ = try await registry.redis.send("DEL", RedisKeys.process(identity.processID))
            #expect(try await registry.releaseOrphan(agentID: agent.agentID, processID: identity.processID, fence: try await TestRegistry.lead(registry)))
            #expect(try await registry.redis.send("EXISTS", RedisKeys.agent(agent.agentID)).int == 0)
            #expect(try await registry.redis.send("SISMEMBER", RedisKeys.poolAgents(registry.pool), agent.agentID).int == 0)
        }
    }

    @Test func healForStalenessLeavesAWorkerThatHeartbeatsAgainAlone() async throws {
        try await withRegistry { registry in
            let identity = worker()
            try await registry.register(identity)
            let agent = spec(registry)
            #expect(try await registry.claimAgent(agent, processID: identity.processID) == .claimed)
            let fence = try await TestRegistry.lead(registry)
            // Its heartbeat is fresh on Redis' clock: a heal for staleness changes nothing.
            #expect(try await registry.deregisterDead(processID: identity.processID, fence: fence, onlyIfStaleAfter: .seconds(3)) == nil)
            #expect(try await registry.workers().map(\.processID) == [identity.processID])
            #expect(try await registry.redis.send("HGET", RedisKeys.agent(agent.agentID), "process_id").string == identity.processID)
            // Once it is older than the bound, the same call removes the worker and its agents.
            try await ageHeartbeat(of: identity.processID, in: registry, bySeconds: 10)
            #expect(try await registry.deregisterDead(processID: identity.processID, fence: fence, onlyIfStaleAfter: .seconds(3)) == [agent.agentID])
            #expect(try await registry.workers().isEmpty)
            #expect(try await registry.redis.send("EXISTS", RedisKeys.agent(agent.agentID)).int == 0)
        }
    }

    @Test func aStartFromAnOlderLeadershipIsNotClaimed() async throws {
        try await withRegistry { registry in
            let identity = worker()
            try await registry.register(identity)
            _ = try await registry.redis.send("SET", RedisKeys.poolEpoch(registry.pool), "5")
            let late = spec(registry), current = spec(registry)
            #expect(try await registry.claimAgent(late, processID: identity.processID, epoch: 4) == .staleEpoch)
            #expect(try await registry.redis.send("EXISTS", RedisKeys.agent(late.agentID)).int == 0)
            #expect(try await registry.claimAgent(current, processID: identity.processID, epoch: 5) == .claimed)
        }
    }

    @Test func healForAProcessExitIsUnconditional() async throws {
        try await withRegistry { registry in
            let identity = worker()
            try await registry.register(identity)
            #expect(try await registry.deregisterDead(processID: identity.processID, fence: try await TestRegistry.lead(registry)) == [])
            #expect(try await registry.workers().isEmpty)
        }
    }

    @Test func leaderScriptsRefuseOnceAnotherManagerHoldsTheLease() async throws {
        try await withRegistry { registry in
            let identity = worker()
            try await registry.register(identity)
            let agent = spec(registry)
            #expect(try await registry.claimAgent(agent, processID: identity.processID) == .claimed)
            let deposed = try await TestRegistry.lead(registry, epoch: 1)
            _ = try await registry.redis.send("SET", RedisKeys.poolLeader(registry.pool), "another-manager")
            await #expect(throws: LeaseLost.self) { try await registry.deregisterDead(processID: identity.processID, fence: deposed) }
            await #expect(throws: LeaseLost.self) { try await registry.publishState(desiredWorkers: 9, fence: deposed) }
            await #expect(throws: LeaseLost.self) { try await registry.stopPlacedAgent(agent.agentID, fence: deposed) }
            await #expect(throws: LeaseLost.self) { try await registry.beginRetirement(processID: identity.processID, fence: deposed) }
            // Nothing changed.
            #expect(try await registry.workers().map(\.processID) == [identity.processID])
            #expect(try await registry.redis.send("HGET", RedisKeys.agent(agent.agentID), "process_id").string == identity.processID)
            #expect(try await registry.redis.send("EXISTS", RedisKeys.poolState(registry.pool)).int == 0)
        }
    }

    @Test func heartbeatsAreStampedWithRedisTimeAndAgedOnIt() async throws {
        try await withRegistry { registry in
            let fresh = worker(), silent = worker()
            try await registry.register(fresh)
            try await registry.register(silent)
            // A worker whose clock is a day behind still heartbeats fresh on Redis' clock.
            #expect(try await registry.heartbeat(processID: fresh.processID, now: Date().addingTimeInterval(-86_400)) == [])
            try await ageHeartbeat(of: silent.processID, in: registry, bySeconds: 10)
            let snapshot = try await registry.snapshot()
            let ages = snapshot.heartbeatAges
            print("heartbeat ages on Redis' clock: \(ages)")
            // The worker's own clock (what liveness compared before) says it is a day stale.
            let skewed = try #require(snapshot.workers.first { $0.processID == fresh.processID })
            #expect(Liveness.isStale(lastHeartbeat: skewed.lastHeartbeat, now: Date(), staleAfter: .seconds(3)))
            #expect(!Liveness.isStale(heartbeatAge: try #require(ages[fresh.processID]), staleAfter: .seconds(3)))
            #expect(try #require(ages[fresh.processID]) < 2)
            #expect(try #require(ages[silent.processID]) >= 10)
        }
    }

    @Test func snapshotReadsBothHalvesAndRepairsFixEachLoss() async throws {
        try await withRegistry { registry in
            let host = worker(), other = worker()
            try await registry.register(host)
            try await registry.register(other)
            let noSet = spec(registry), noHash = spec(registry)
            for agent in [noSet, noHash] { #expect(try await registry.claimAgent(agent, processID: host.processID) == .claimed) }
            _ = try await registry.redis.send("SREM", RedisKeys.processAgents(host.processID), noSet.agentID)
            _ = try await registry.redis.send("DEL", RedisKeys.agent(noHash.agentID))
            _ = try await registry.redis.send("SREM", RedisKeys.poolAgents(registry.pool), noHash.agentID)

            let placements = try await registry.snapshot().placements
            #expect(placements.hashes == [noSet.agentID: host.processID])
            #expect(placements.hosted[host.processID] == [noHash.agentID])
            let plan = ReconcilePlan.make(
                shouldRun: [noSet.agentID, noHash.agentID], registry: placements, reserved: [],
                liveWorkers: [host.processID, other.processID])
            #expect(plan.unattributed == [.init(agentID: noSet.agentID, processID: host.processID)])
            #expect(plan.unrecorded == [.init(agentID: noHash.agentID, processID: host.processID)])
            #expect(plan.toPlace == [noSet.agentID])

            let fence = try await TestRegistry.lead(registry)
            #expect(try await registry.clearUnattributed(agentID: noSet.agentID, processID: host.processID, fence: fence))
            #expect(try await registry.restoreRecord(noHash, processID: host.processID, fence: fence))
            #expect(try await registry.restoreRecord(noHash, processID: host.processID, fence: fence) == false)
            let repaired = try await registry.snapshot().placements
            #expect(repaired.hashes == [noHash.agentID: host.processID])
            // The cleared agent may now be claimed by another worker.
            #expect(try await registry.claimAgent(noSet, processID: other.processID) == .claimed)
        }
    }

    @Test func aHashWhoseWorkerDoesNotListTheAgentDoesNotBlockAClaim() async throws {
        try await withRegistry { registry in
            let first = worker(), second = worker()
            try await registry.register(first)
            try await registry.register(second)
            let agent = spec(registry)
            #expect(try await registry.claimAgent(agent, processID: first.processID) == .claimed)
            _ = try await registry.redis.send("SREM", RedisKeys.processAgents(first.processID), agent.agentID)
            #expect(try await registry.claimAgent(agent, processID: second.processID) == .claimed)
            #expect(try await registry.redis.send("HGET", RedisKeys.agent(agent.agentID), "process_id").string == second.processID)
        }
    }
}
