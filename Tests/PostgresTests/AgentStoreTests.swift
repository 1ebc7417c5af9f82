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
