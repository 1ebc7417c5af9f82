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

    @Test func aFirstStartIsSaidOnlyOfAnAgentThatNeverRanNorHadATask() async throws {
        try await withStore { store, client, pool in
            let worker = Identifier.make()
            let fresh = try await insert(store, pool)
            guard case .running(_, let first) = try await store.recordRunning(id: fresh, processID: worker) else {
                Issue.record("the first start was not recorded")
                return
            }
            #expect(first)
            // It ran: a repeat (or a start elsewhere after its worker died) has a host to take over from.
            guard case .running(_, let again) = try await store.recordRunning(id: fresh, processID: worker) else {
                Issue.record("the repeated start was not recorded")
                return
            }
            #expect(!again)

            // Never ran, but was given a task (task_seq counts them): not a first start.
            let tasked = try await insert(store, pool)
            _ = try await client.query("UPDATE agents SET task_seq = 1 WHERE id = $1::uuid", [tasked])
            guard case .running(_, let taskedFirst) = try await store.recordRunning(id: tasked, processID: worker) else {
                Issue.record("the tasked agent's start was not recorded")
                return
            }
            #expect(!taskedFirst)

            // The batched statement says the same of each of its rows.
            var ids: [String] = []
            for _ in 0..<12 { ids.append(try await insert(store, pool)) }
            ids.append(tasked)
            let outcomes = try await withThrowingTaskGroup(of: (String, RunningOutcome).self) { group in
                for id in ids { group.addTask { (id, try await store.recordRunning(id: id, processID: worker)) } }
                return try await group.reduce(into: [String: RunningOutcome]()) { $0[$1.0] = $1.1 }
            }
            for id in ids {
                guard case .running(_, let first)? = outcomes[id] else {
                    Issue.record("\(id) was not recorded running: \(String(describing: outcomes[id]))")
                    continue
                }
                #expect(first == (id != tasked), "\(id)")
            }
            print("first starts in a burst of \(ids.count): \(outcomes.values.filter { if case .running(_, true) = $0 { true } else { false } }.count); statements so far: \(store.batchedStatements)")
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
