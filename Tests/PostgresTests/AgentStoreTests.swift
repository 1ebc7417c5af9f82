import AgentStore
import Foundation
import Postgres
import PoolProtocol
import Testing

/// The `agents` table's state changes, on the real database through PgBouncer.
@Suite struct AgentStoreTests {
    @Test("a repeated markTerminated leaves the terminated row exactly as it was")
    func repeatedTerminationChangesNothing() async throws {
        try await TestDatabase.withClient { client in
            _ = try await PostgresMigrator(client: client, logger: TestDatabase.logger).apply(AgentSchema.migrations)
            let store = AgentStore(client: client)
            let pool = "storetest_\(UUID().uuidString.prefix(8).lowercased())"
            let agentID = Identifier.make()
            let spec = AgentSpec(agentID: agentID, name: "a", poolName: pool, role: "developer", metadata: [:])
            do {
                _ = try await store.insert(spec, idempotencyKey: nil, requestHash: nil)
                _ = try await store.markRunning(id: agentID, processID: Identifier.make())
                #expect(try await store.fetch(id: agentID)?.status == .running)
                try await store.markTerminated(id: agentID)
                let stopped = try #require(try await store.fetch(id: agentID))
                #expect(stopped.status == .terminated && stopped.processID == nil)
                try await Task.sleep(for: .milliseconds(20))
                try await store.markTerminated(id: agentID)
                #expect(try await store.fetch(id: agentID) == stopped)
            } catch {
                _ = try? await client.query("DELETE FROM agents WHERE pool_name = $1", [pool])
                throw error
            }
            _ = try await client.query("DELETE FROM agents WHERE pool_name = $1", [pool])
        }
    }
}

/// What only a pool's leader writes, and the start a worker records: fenced by the leader's
/// epoch, and never taking from or deleting an agent that another worker holds or that ran.
@Suite struct AgentStoreLeaderTests {
    func withStore(_ body: (AgentStore, PostgresClient, String) async throws -> Void) async throws {
        try await TestDatabase.withClient { client in
            _ = try await PostgresMigrator(client: client, logger: TestDatabase.logger).apply(AgentSchema.migrations)
            let pool = "leadertest_\(UUID().uuidString.prefix(8).lowercased())"
            do {
                try await body(AgentStore(client: client), client, pool)
            } catch {
                _ = try? await client.query("DELETE FROM agents WHERE pool_name = $1", [pool])
                _ = try? await client.query("DELETE FROM pool_leadership WHERE pool_name = $1", [pool])
                throw error
            }
            _ = try await client.query("DELETE FROM agents WHERE pool_name = $1", [pool])
            _ = try await client.query("DELETE FROM pool_leadership WHERE pool_name = $1", [pool])
        }
    }

    func insert(_ store: AgentStore, _ pool: String) async throws -> String {
        let agentID = Identifier.make()
        _ = try await store.insert(AgentSpec(agentID: agentID, name: "a", poolName: pool, role: "developer", metadata: [:]), idempotencyKey: nil, requestHash: nil)
        return agentID
    }

    @Test func aStartNeverTakesARowAnotherWorkerHolds() async throws {
        try await withStore { store, _, pool in
            let agentID = try await insert(store, pool)
            let first = Identifier.make(), second = Identifier.make()
            guard case .running = try await store.recordRunning(id: agentID, processID: first) else {
                Issue.record("the first start was not recorded")
                return
            }
            #expect(try await store.recordRunning(id: agentID, processID: second) == .heldElsewhere(holder: first))
            #expect(try await store.markRunning(id: agentID, processID: second) == nil)
            #expect(try await store.fetch(id: agentID)?.processID == first)
            #expect(try await store.recordRunning(id: agentID, processID: first).updatedAt != nil)  // a repeat by its worker
            _ = try await store.markStopping(id: agentID)
            #expect(try await store.recordRunning(id: agentID, processID: first) == .notWanted)
            #expect(try await store.recordRunning(id: Identifier.make(), processID: first) == .notWanted)
        }
    }

    @Test func aRefusalDeletesOnlyASpawnRequestThatNeverRan() async throws {
        try await withStore { store, _, pool in
            let epoch = try await LeadershipStore(client: store.client).nextEpoch(pool: pool)
            let fence = LeadershipEpoch(pool: pool, epoch: epoch)
            let fresh = try await insert(store, pool), ran = try await insert(store, pool)
            let worker = Identifier.make()
            _ = try await store.markRunning(id: ran, processID: worker)
            let released = try await store.releaseWorker(worker, fence: fence)
            #expect(released.map(\.id) == [ran] && released.allSatisfy { !$0.terminated })
            #expect(try await store.fetch(id: ran)?.status == .pending)
            #expect(try await store.deleteRefused(id: ran, fence: fence) == false)
            try await store.deleteRefused(id: ran)
            #expect(try await store.fetch(id: ran) != nil)
            #expect(try await store.deleteRefused(id: fresh, fence: fence))
            #expect(try await store.fetch(id: fresh) == nil)
        }
    }

    @Test func writesOfAnOlderLeadershipAreRefusedAndChangeNothing() async throws {
        try await withStore { store, _, pool in
            let leadership = LeadershipStore(client: store.client)
            let old = LeadershipEpoch(pool: pool, epoch: try await leadership.nextEpoch(pool: pool))
            _ = try await leadership.nextEpoch(pool: pool)
            let agentID = try await insert(store, pool), stopping = try await insert(store, pool)
            let worker = Identifier.make()
            _ = try await store.markRunning(id: agentID, processID: worker)
            _ = try await store.markRunning(id: stopping, processID: worker)
            _ = try await store.markStopping(id: stopping)
            await #expect(throws: LeadershipLost.self) { try await store.releaseWorker(worker, fence: old) }
            await #expect(throws: LeadershipLost.self) { try await store.terminateUnhosted(id: stopping, fence: old) }
            await #expect(throws: LeadershipLost.self) { try await store.deleteRefused(id: agentID, fence: old) }
            await #expect(throws: LeadershipLost.self) { try await store.markFailed(id: agentID, reason: "x", fence: old) }
            #expect(try await store.fetch(id: agentID)?.status == .running)
            #expect(try await store.fetch(id: stopping)?.status == .stopping)
            // The current leadership settles the dead worker's rows: one waits, one ends.
            let current = LeadershipEpoch(pool: pool, epoch: old.epoch + 1)
            let released = try await store.releaseWorker(worker, fence: current)
            #expect(Set(released.map(\.id)) == [agentID, stopping])
            #expect(try await store.fetch(id: stopping)?.status == .terminated)
            #expect(try await store.unsettled(pool: pool).map(\.id) == [agentID])
        }
    }
}
