import AgentStore
import Foundation
import Postgres
import PoolProtocol
import Testing
import TestSupport

/// `AgentStore`'s batched writes on the real database through PgBouncer: concurrent spawns
/// and terminations that wait for the only connection share statements, and every caller
/// gets exactly what its own single-row call would have returned.
@Suite struct AgentStoreBatchTests {
    static let count = 50

    /// Runs `call` for every item concurrently while the client's only connection is held,
    /// so the calls wait together; returns the results by item.
    static func whileBlocked<Item: Sendable & Hashable, Result: Sendable>(
        _ store: AgentStore, _ client: PostgresClient, _ items: [Item], _ call: @escaping @Sendable (Item) async throws -> Result
    ) async throws -> [Item: Result] {
        let blocker = try await ConnectionBlocker(client)
        let results = Task {
            try await withThrowingTaskGroup(of: (Item, Result).self) { group in
                for item in items { group.addTask { (item, try await call(item)) } }
                return try await group.reduce(into: [Item: Result]()) { $0[$1.0] = $1.1 }
            }
        }
        try await Poll.until("\(items.count) writes wait") { store.batchedStatements.waiting == items.count }
        try await blocker.release()
        return try await results.value
    }

    static func withStore(poolSize: Int = 1, _ body: (AgentStore, PostgresClient, String) async throws -> Void) async throws {
        try await TestDatabase.withClient(poolSize: poolSize) { client in
            _ = try await PostgresMigrator(client: client, logger: TestDatabase.logger).apply(AgentSchema.migrations)
            let pool = "batchtest_\(UUID().uuidString.prefix(8).lowercased())"
            do {
                try await body(AgentStore(client: client), client, pool)
            } catch {
                _ = try? await client.query("DELETE FROM agents WHERE pool_name = $1", [pool])
                throw error
            }
            _ = try await client.query("DELETE FROM agents WHERE pool_name = $1", [pool])
        }
    }

    @Test("50 concurrent spawns and terminations, some of agents that should no longer run, each get their own row")
    func concurrentCallersGetTheirOwnRows() async throws {
        try await Self.withStore { store, client, pool in
            let specs = (0..<Self.count).map { index in
                AgentSpec(
                    agentID: Identifier.make(), name: "agent \(index) \"quoted\", {braced}", poolName: pool, role: "developer",
                    metadata: ["index": .number(Double(index)), "note": .string("it's \\ \"odd\"")])
            }
            let before = store.batchedStatements
            let inserted = try await Self.whileBlocked(store, client, specs) { spec in
                try await store.insert(spec, idempotencyKey: nil, requestHash: "hash-\(spec.name)")
            }
            for spec in specs {
                guard case .created(let record)? = inserted[spec] else {
                    Issue.record("no new row for \(spec.agentID)")
                    continue
                }
                #expect(record.spec == spec && record.status == .pending && record.desiredState == .running)
                #expect(record.requestHash == "hash-\(spec.name)" && record.idempotencyKey == nil)
                #expect(try await store.fetch(id: spec.agentID) == record)
            }

            // Every other agent is terminated before it runs; one id is unknown.
            let stopped = Set(specs.enumerated().filter { $0.offset.isMultiple(of: 2) }.map(\.element.agentID))
            let unknown = Identifier.make()
            let stopping = try await Self.whileBlocked(store, client, Array(stopped) + [unknown]) { id in
                try await store.markStopping(id: id)
            }
            #expect(stopping[unknown] == .some(nil))
            for id in stopped {
                let record = try #require(stopping[id] ?? nil)
                #expect(record.id == id && record.status == .terminated && record.desiredState == .terminated)
            }

            let processIDs = Dictionary(uniqueKeysWithValues: specs.map { ($0.agentID, Identifier.make()) })
            let running = try await Self.whileBlocked(store, client, specs.map(\.agentID)) { id in
                try await store.markRunning(id: id, processID: processIDs[id]!)
            }
            for spec in specs {
                let row = try #require(try await store.fetch(id: spec.agentID))
                if stopped.contains(spec.agentID) {
                    #expect(running[spec.agentID] == .some(nil), "an agent that should not run is not started")
                    #expect(row.status == .terminated && row.processID == nil)
                } else {
                    #expect(running[spec.agentID] == row.updatedAt)
                    #expect(row.status == .running && row.processID == processIDs[spec.agentID])
                }
            }

            let terminated = try await Self.whileBlocked(store, client, specs.map(\.agentID)) { id in
                try await store.markTerminated(id: id)
            }
            for spec in specs {
                let row = try #require(try await store.fetch(id: spec.agentID))
                #expect(row.status == .terminated && row.processID == nil)
                if stopped.contains(spec.agentID) {
                    #expect(terminated[spec.agentID] == .some(nil), "an already terminated row is left alone")
                } else {
                    #expect(terminated[spec.agentID] == row.updatedAt)
                }
            }

            let after = store.batchedStatements
            print("""
                AgentStore with one connection held: \(Self.count) inserts -> \(after.inserts - before.inserts), \
                \(stopped.count + 1) markStopping -> \(after.stopping - before.stopping), \
                \(Self.count) markRunning -> \(after.running - before.running), \
                \(Self.count) markTerminated -> \(after.terminated - before.terminated) statement(s)
                """)
            // The calls all waited for the one connection, so each kind took one statement.
            #expect(after.inserts - before.inserts == 1 && after.stopping - before.stopping == 1)
            #expect(after.running - before.running == 1 && after.terminated - before.terminated == 1)
        }
    }

    @Test("with three free connections, 50 concurrent spawns each get their own running row")
    func freeConnectionsStillAnswerEachCaller() async throws {
        try await Self.withStore(poolSize: 3) { store, _, pool in
            let before = store.batchedStatements
            let results = try await withThrowingTaskGroup(of: (String, String, Date?).self) { group in
                for index in 0..<Self.count {
                    group.addTask {
                        let spec = AgentSpec(agentID: Identifier.make(), name: "free \(index)", poolName: pool, role: "developer", metadata: [:])
                        _ = try await store.insert(spec, idempotencyKey: nil, requestHash: nil)
                        let processID = Identifier.make()
                        return (spec.agentID, processID, try await store.markRunning(id: spec.agentID, processID: processID))
                    }
                }
                return try await group.reduce(into: [(String, String, Date?)]()) { $0.append($1) }
            }
            let after = store.batchedStatements
            print("AgentStore with 3 free connections: \(Self.count) concurrent spawns -> \(after.inserts - before.inserts) inserts, \(after.running - before.running) markRunning statement(s)")
            #expect(results.count == Self.count)
            for (agentID, processID, updatedAt) in results {
                let row = try #require(try await store.fetch(id: agentID))
                #expect(row.status == .running && row.processID == processID && row.updatedAt == updatedAt)
            }
        }
    }

    @Test("an insert batch with a taken id fails all its callers, and the next insert works")
    func failedBatchFailsItsCallers() async throws {
        try await Self.withStore { store, client, pool in
            let taken = AgentSpec(agentID: Identifier.make(), name: "first", poolName: pool, role: "developer", metadata: [:])
            _ = try await store.insert(taken, idempotencyKey: nil, requestHash: nil)
            let others = (0..<3).map { AgentSpec(agentID: Identifier.make(), name: "other \($0)", poolName: pool, role: "developer", metadata: [:]) }
            let outcomes = try await Self.whileBlocked(store, client, [taken] + others) { spec in
                do {
                    _ = try await store.insert(spec, idempotencyKey: nil, requestHash: nil)
                    return "created"
                } catch let error as PostgresError {
                    return error.sqlState ?? "no state"
                }
            }
            #expect(Set(outcomes.values) == ["23505"], "every caller of the batch gets the unique violation: \(outcomes)")
            for other in others { #expect(try await store.fetch(id: other.agentID) == nil) }
            guard case .created(let record) = try await store.insert(others[0], idempotencyKey: nil, requestHash: nil) else {
                Issue.record("the next insert did not create its row")
                return
            }
            #expect(record.spec == others[0])
        }
    }

    @Test("sequential writes go out one statement each, with today's results")
    func sequentialWritesGoOutAlone() async throws {
        try await Self.withStore { store, _, pool in
            let before = store.batchedStatements
            for index in 0..<5 {
                let spec = AgentSpec(agentID: Identifier.make(), name: "seq \(index)", poolName: pool, role: "developer", metadata: [:])
                _ = try await store.insert(spec, idempotencyKey: nil, requestHash: nil)
                let updatedAt = try #require(try await store.markRunning(id: spec.agentID, processID: Identifier.make()))
                #expect(try await store.fetch(id: spec.agentID)?.updatedAt == updatedAt)
                #expect(try await store.markStopping(id: spec.agentID)?.status == .stopping)
                #expect(try await store.markTerminated(id: spec.agentID) != nil)
                #expect(try await store.markRunning(id: spec.agentID, processID: Identifier.make()) == nil)
            }
            let after = store.batchedStatements
            #expect(after.inserts - before.inserts == 5 && after.stopping - before.stopping == 5)
            #expect(after.running - before.running == 10 && after.terminated - before.terminated == 5)
        }
    }
}
