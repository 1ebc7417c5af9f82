import Foundation
import PoolCore
import PoolProtocol
import Redis
@testable import Registry
import Testing
import TestSupport

/// The scripts that choose or look up a worker and publish its command in the same atomic
/// step, against a real Redis: the command reaches only that worker's channel, intact, and
/// a slot is never kept for a command nobody received.
@Suite("Command scripts against a real Redis (REDIS_URL)")
struct CommandScriptTests {
    func deadline() -> Date { Date().addingTimeInterval(60) }

    @Test func reserveSendsStartAgentToTheChosenWorkerOnly() async throws {
        try await TestRegistry.with { registry in
            let chosen = TestRegistry.worker(), other = TestRegistry.worker()
            try await registry.register(chosen)
            try await registry.register(other)
            // The other worker is fuller, so the emptiest (chosen) gets the agent.
            _ = try await registry.claimAgent(TestRegistry.spec(registry), processID: other.processID)
            try await CommandListener.with([chosen.processID, other.processID]) { (listener) async throws in
                let agent = TestRegistry.spec(registry, metadata: ["team": .string("blue")])
                #expect(try await registry.reserveAndStart(agent, fence: try await TestRegistry.lead(registry, epoch: 7), deadline: deadline()) == chosen.processID)
                #expect(await Poll.eventually { listener.commands(for: chosen.processID).count == 1 })
                #expect(listener.commands(for: chosen.processID) == [
                    .startAgent(StartAgent(targetProcessID: chosen.processID, epoch: 7, agent: agent))
                ])
                #expect(listener.commands(for: other.processID).isEmpty)
            }
            let scores = Dictionary(uniqueKeysWithValues: try await registry.workers().map { ($0.processID, $0.freeSlots) })
            #expect(scores == [chosen.processID: 9, other.processID: 9])
            #expect(try await registry.redis.send("ZCARD", RedisKeys.processReservations(chosen.processID)).int == 1)
        }
    }

    @Test func theCommandSurvivesMetadataThatLooksLikeATarget() async throws {
        try await TestRegistry.with { registry in
            let identity = TestRegistry.worker()
            try await registry.register(identity)
            let lookalike = Identifier.make()
            let metadata: JSONObject = [
                "target_process_id": .string(lookalike), "quote": .string("\"target_process_id\":\"\(lookalike)\""),
                "nested": .object(["target_process_id": .string(lookalike)]),
            ]
            try await CommandListener.with([identity.processID]) { (listener) async throws in
                let agent = TestRegistry.spec(registry, metadata: metadata)
                #expect(try await registry.reserveAndStart(agent, fence: try await TestRegistry.lead(registry, epoch: 1), deadline: deadline()) == identity.processID)
                #expect(await Poll.eventually { !listener.commands(for: identity.processID).isEmpty })
                guard case .startAgent(let command) = listener.commands(for: identity.processID).first else {
                    Issue.record("no start_agent arrived")
                    return
                }
                #expect(command.targetProcessID == identity.processID)
                #expect(command.agent.metadata == metadata)
            }
        }
    }

    @Test func noFreeSlotReservesAndSendsNothing() async throws {
        try await TestRegistry.with { registry in
            let identity = TestRegistry.worker(slots: 1)
            try await registry.register(identity)
            try await CommandListener.with([identity.processID]) { (listener) async throws in
                #expect(try await registry.reserveAndStart(TestRegistry.spec(registry), fence: try await TestRegistry.lead(registry, epoch: 1), deadline: deadline()) == identity.processID)
                #expect(try await registry.reserveAndStart(TestRegistry.spec(registry), fence: try await TestRegistry.lead(registry, epoch: 1), deadline: deadline()) == nil)
                try await Task.sleep(for: .milliseconds(200))
                #expect(listener.lineCount == 1)
            }
            #expect(try await registry.redis.send("ZCARD", RedisKeys.processReservations(identity.processID)).int == 1)
            #expect(try await registry.workers().first?.freeSlots == 0)
        }
    }

    @Test func aWorkerNobodyListensForKeepsItsSlotAndTheNextOneIsChosen() async throws {
        try await TestRegistry.with { registry in
            let silent = TestRegistry.worker(slots: 10), listening = TestRegistry.worker(slots: 5)
            try await registry.register(silent)
            try await registry.register(listening)
            // The silent worker is the emptiest, so it is tried first.
            try await CommandListener.with([listening.processID]) { (listener) async throws in
                #expect(try await registry.reserveAndStart(TestRegistry.spec(registry), fence: try await TestRegistry.lead(registry, epoch: 1), deadline: deadline()) == listening.processID)
                #expect(await Poll.eventually { listener.commands(for: listening.processID).count == 1 })
            }
            let scores = Dictionary(uniqueKeysWithValues: try await registry.workers().map { ($0.processID, $0.freeSlots) })
            #expect(scores == [silent.processID: 10, listening.processID: 4])
            #expect(try await registry.redis.send("ZCARD", RedisKeys.processReservations(silent.processID)).int == 0)
            // With nobody listening at all, nothing is reserved anywhere.
            #expect(try await registry.reserveAndStart(TestRegistry.spec(registry), fence: try await TestRegistry.lead(registry, epoch: 1), deadline: deadline()) == nil)
            #expect(try await registry.workers().map(\.freeSlots).sorted() == [4, 10])
        }
    }

    @Test func anAgentAlreadyPlacedIsAnnouncedAgainOnItsWorker() async throws {
        try await TestRegistry.with { registry in
            let host = TestRegistry.worker(), emptier = TestRegistry.worker(slots: 20)
            try await registry.register(host)
            try await registry.register(emptier)
            let agent = TestRegistry.spec(registry)
            #expect(try await registry.claimAgent(agent, processID: host.processID) == .claimed)
            try await CommandListener.with([host.processID, emptier.processID]) { (listener) async throws in
                #expect(try await registry.reserveAndStart(agent, fence: try await TestRegistry.lead(registry, epoch: 2), deadline: deadline()) == host.processID)
                #expect(await Poll.eventually { listener.commands(for: host.processID).count == 1 })
                #expect(listener.commands(for: emptier.processID).isEmpty)
            }
            for identity in [host, emptier] {
                #expect(try await registry.redis.send("ZCARD", RedisKeys.processReservations(identity.processID)).int == 0)
            }
        }
    }

    @Test func stopGoesToTheHostingWorker() async throws {
        try await TestRegistry.with { registry in
            let host = TestRegistry.worker(), other = TestRegistry.worker()
            try await registry.register(host)
            try await registry.register(other)
            let agent = TestRegistry.spec(registry)
            #expect(try await registry.claimAgent(agent, processID: host.processID) == .claimed)
            try await CommandListener.with([host.processID, other.processID]) { (listener) async throws in
                #expect(try await registry.stopPlacedAgent(agent.agentID, fence: try await TestRegistry.lead(registry, epoch: 3)) == .sent(processID: host.processID))
                #expect(await Poll.eventually { listener.commands(for: host.processID).count == 1 })
                #expect(listener.commands(for: host.processID) == [
                    .stopAgent(StopAgent(targetProcessID: host.processID, epoch: 3, agentID: agent.agentID))
                ])
                #expect(listener.commands(for: other.processID).isEmpty)
            }
            // Nobody listens any more: the caller learns that the stop reached nobody.
            #expect(try await registry.stopPlacedAgent(agent.agentID, fence: try await TestRegistry.lead(registry, epoch: 3)) == .notListening(processID: host.processID))
        }
    }

    @Test func stopForAnAgentNotPlacedSendsNothing() async throws {
        try await TestRegistry.with { registry in
            let identity = TestRegistry.worker()
            try await registry.register(identity)
            try await CommandListener.with([identity.processID]) { (listener) async throws in
                #expect(try await registry.stopPlacedAgent(Identifier.make(), fence: try await TestRegistry.lead(registry, epoch: 1)) == .notPlaced)
                try await Task.sleep(for: .milliseconds(200))
                #expect(listener.lineCount == 0)
            }
        }
    }
}

extension TestRegistry {
    /// Makes the test the pool's leader, as `LeaderLease` does: `pool:<name>:leader` holds a
    /// token, which the fenced scripts check. Returns the fence to pass them.
    static func lead(_ registry: PoolRegistry, epoch: Int = 1) async throws -> LeaderFence {
        let fence = LeaderFence(token: "test-leader-\(registry.pool)", epoch: epoch)
        _ = try await registry.redis.send("SET", RedisKeys.poolLeader(registry.pool), fence.token, "PX", "60000")
        return fence
    }
}
