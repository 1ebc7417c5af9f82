import Foundation
import PoolCore
import PoolProtocol
import Redis
@testable import Registry
import Testing
import TestSupport

/// The gateway's own placement (`GatewayScripts.place`) against a real Redis: it reserves and
/// sends `start_agent` only while a manager leads and listens, only with the pool's current
/// epoch, and shares the free slots with the leader's reserve so that together they never
/// overfill a worker.
@Suite("The gateway's placement script against a real Redis (REDIS_URL)")
struct GatewayPlacementScriptTests {
    /// Runs `body` while something listens on the pool's requests channel, as every manager does.
    func withManagerListening<T>(_ registry: PoolRegistry, _ body: () async throws -> T) async throws -> T {
        let subscriber = RedisSubscriber(
            configuration: try TestRedis.configuration(), channels: [RedisKeys.poolRequests(registry.pool)], logger: TestRedis.logger)
        let running = Task { await subscriber.run() }
        defer { running.cancel() }
        for await event in subscriber.events {
            if case .subscribed = event { break }
        }
        return try await body()
    }

    func freeSlots(_ registry: PoolRegistry, _ processID: String) async throws -> Int? {
        try await registry.redis.send("ZSCORE", RedisKeys.poolProcesses(registry.pool), processID).int
    }

    @Test func withoutALeaseOrAListeningManagerNothingIsReserved() async throws {
        try await TestRegistry.with { registry in
            let worker = TestRegistry.worker()
            try await registry.register(worker)
            _ = try await registry.redis.send("SET", RedisKeys.poolEpoch(registry.pool), "3")
            try await CommandListener.with([worker.processID]) { listener in
                // No lease at all.
                #expect(try await registry.placeFromGateway(TestRegistry.spec(registry), epoch: 3) == .noLeader)
                // A lease, but no manager listens (a killed leader's lease outlives it).
                _ = try await TestRegistry.lead(registry, epoch: 3)
                #expect(try await registry.placeFromGateway(TestRegistry.spec(registry), epoch: 3) == .noLeader)
                #expect(listener.commands(for: worker.processID).isEmpty)
            }
            #expect(try await registry.redis.send("ZCARD", RedisKeys.processReservations(worker.processID)).int == 0)
            #expect(try await freeSlots(registry, worker.processID) == 10)
        }
    }

    @Test func placesWithThePoolsCurrentEpochOnly() async throws {
        try await TestRegistry.with { registry in
            let worker = TestRegistry.worker()
            try await registry.register(worker)
            _ = try await TestRegistry.lead(registry, epoch: 7)
            _ = try await registry.redis.send("SET", RedisKeys.poolEpoch(registry.pool), "7")
            try await withManagerListening(registry) { () async throws in
                try await CommandListener.with([worker.processID]) { listener in
                    let spec = TestRegistry.spec(registry)
                    // A gateway that does not know the epoch yet learns it and changes nothing.
                    #expect(try await registry.placeFromGateway(spec, epoch: 0) == .epochMoved(current: 7))
                    #expect(try await registry.placeFromGateway(spec, epoch: 6) == .epochMoved(current: 7))
                    #expect(try await freeSlots(registry, worker.processID) == 10)
                    #expect(try await registry.placeFromGateway(spec, epoch: 7) == .placed(processID: worker.processID))
                    #expect(try await freeSlots(registry, worker.processID) == 9)
                    let reserved = try await registry.redis.send("ZRANGE", RedisKeys.processReservations(worker.processID), "0", "-1")
                    #expect(reserved.array?.compactMap(\.string) == [spec.agentID])
                    let sent = await Poll.eventually { !listener.commands(for: worker.processID).isEmpty }
                    #expect(sent)
                    guard case .startAgent(let start)? = listener.commands(for: worker.processID).first else {
                        Issue.record("no start_agent arrived")
                        return
                    }
                    #expect(start.epoch == 7 && start.agent == spec && start.targetProcessID == worker.processID)
                    // The worker's claim takes the reservation as it does a leader's.
                    #expect(try await registry.claimAgent(spec, processID: worker.processID, epoch: start.epoch) == .claimed)
                    #expect(try await registry.redis.send("ZCARD", RedisKeys.processReservations(worker.processID)).int == 0)
                    // Redis lost the epoch key: unknown, so the manager decides.
                    _ = try await registry.redis.send("DEL", RedisKeys.poolEpoch(registry.pool))
                    #expect(try await registry.placeFromGateway(TestRegistry.spec(registry), epoch: 7) == .epochMoved(current: 0))
                }
            }
        }
    }

    @Test func gatewayAndLeaderTogetherNeverOverfillAndAFullPoolIsTheLeadersCall() async throws {
        try await TestRegistry.with { registry in
            let first = TestRegistry.worker(), second = TestRegistry.worker()
            try await registry.register(first)
            try await registry.register(second)
            let fence = try await TestRegistry.lead(registry, epoch: 2)
            _ = try await registry.redis.send("SET", RedisKeys.poolEpoch(registry.pool), "2")
            let started = ContinuousClock.now
            let placed = try await withManagerListening(registry) { () async throws in
                try await CommandListener.with([first.processID, second.processID]) { _ in
                    try await withThrowingTaskGroup(of: String?.self) { group in
                        for index in 0..<30 {
                            group.addTask {
                                let spec = TestRegistry.spec(registry)
                                if index.isMultiple(of: 3) {
                                    return try await registry.reserveAndStart(spec, fence: fence, deadline: Date().addingTimeInterval(60))
                                }
                                if case .placed(let processID) = try await registry.placeFromGateway(spec, epoch: 2) { return processID }
                                return nil
                            }
                        }
                        return try await group.reduce(into: [String]()) { if let id = $1 { $0.append(id) } }
                    }
                }
            }
            print("30 concurrent placements (10 by the leader, 20 by gateways) on 2 × 10 slots took \(ContinuousClock.now - started)")
            #expect(placed.count == 20)
            #expect(placed.filter { $0 == first.processID }.count == 10)
            #expect(placed.filter { $0 == second.processID }.count == 10)
            #expect(try await freeSlots(registry, first.processID) == 0)
            #expect(try await freeSlots(registry, second.processID) == 0)
            // Every slot taken: the gateway hands the spawn to the leader.
            try await withManagerListening(registry) { () async throws in
                #expect(try await registry.placeFromGateway(TestRegistry.spec(registry), epoch: 2) == .noFreeSlot)
            }
        }
    }
}
