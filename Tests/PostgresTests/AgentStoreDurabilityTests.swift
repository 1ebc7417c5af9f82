@testable import AgentStore
import Foundation
import Postgres
import PoolProtocol
import Testing

/// The worker's `running` record commits without waiting for the WAL flush (observed state the
/// leader's reconcile rebuilds), and only that statement's transaction does: PgBouncer's other
/// clients, and the desired state written beside it, keep synchronous commits.
@Suite struct AgentStoreDurabilityTests {
    @Test("markRunning's statements turn synchronous_commit off for their own transaction only")
    func runningRecordCommitsAsynchronously() async throws {
        try await TestDatabase.withClient { client in
            _ = try await PostgresMigrator(client: client, logger: TestDatabase.logger).apply(AgentSchema.migrations)
            let store = AgentStore(client: client)
            let pool = "durability_\(UUID().uuidString.prefix(8).lowercased())"
            do {
                try await check(store, client, pool)
            } catch {
                _ = try? await client.query("DELETE FROM agents WHERE pool_name = $1", [pool])
                throw error
            }
            _ = try await client.query("DELETE FROM agents WHERE pool_name = $1", [pool])
        }
    }

    private func check(_ store: AgentStore, _ client: PostgresClient, _ pool: String) async throws {
        let first = Identifier.make(), second = Identifier.make(), worker = Identifier.make()
        for id in [first, second] {
            _ = try await store.insert(
                AgentSpec(agentID: id, name: "a", poolName: pool, role: "developer", metadata: [:]),
                idempotencyKey: nil, requestHash: nil)
        }
        // Inside one transaction, so that SHOW sees what the statement set for it.
        let settings = try await client.withTransaction { connection -> [String?] in
            let before = try await connection.query("SHOW synchronous_commit").rows.first?["synchronous_commit"]
            let single = try await connection.query(AgentStore.markRunningSQL, [first, worker])
            let afterSingle = try await connection.query("SHOW synchronous_commit").rows.first?["synchronous_commit"]
            let batch = try await connection.query(
                AgentStore.markRunningSQL(ids: "$1::uuid[]", processes: "$2::uuid[]"), ["{\(first),\(second)}", "{\(worker),\(worker)}"])
            let afterBatch = try await connection.query("SHOW synchronous_commit").rows.first?["synchronous_commit"]
            return [before, afterSingle, afterBatch, "\(single.rows.count)", "\(batch.rows.count)"]
        }
        print("synchronous_commit before, after the single-row and after the batch statement:", settings)
        #expect(settings == ["on", "off", "off", "1", "2"])
        // The next statement, in a transaction of its own, commits synchronously again.
        let after = try await client.query("SHOW synchronous_commit").rows.first?["synchronous_commit"]
        #expect(after == "on")
        // And the rows were written: visible to any reader at once.
        #expect(try await store.fetch(id: first)?.status == .running)
        #expect(try await store.fetch(id: second)?.processID == worker)
        // Through the store's own path too (a lone write takes the single-row statement).
        let third = Identifier.make()
        _ = try await store.insert(
            AgentSpec(agentID: third, name: "a", poolName: pool, role: "developer", metadata: [:]),
            idempotencyKey: nil, requestHash: nil)
        #expect(try await store.markRunning(id: third, processID: worker) != nil)
        #expect(try await store.fetch(id: third)?.status == .running)
    }
}
