import AgentStore
import Foundation
import Postgres
import PoolProtocol
import TaskStore
import Testing

/// A migrated database, a `TaskStore` and an `AgentStore` on it, and a pool name no other test
/// uses; every agent (and, by cascade, every task and event) of that pool is deleted after.
struct TaskStoreFixture {
    let client: PostgresClient
    let tasks: TaskStore
    let agents: AgentStore
    let pool: String

    /// Runs `body` with a fresh fixture and always cleans up after it.
    static func with(poolSize: Int = 3, _ body: (TaskStoreFixture) async throws -> Void) async throws {
        try await TestDatabase.withClient(poolSize: poolSize) { client in
            _ = try await PostgresMigrator(client: client, logger: TestDatabase.logger).apply(AgentSchema.migrations)
            let fixture = TaskStoreFixture(
                client: client, tasks: TaskStore(client: client), agents: AgentStore(client: client),
                pool: "tasktest_\(UUID().uuidString.prefix(8).lowercased())")
            do {
                try await body(fixture)
            } catch {
                _ = try? await client.query("DELETE FROM agents WHERE pool_name = $1", [fixture.pool])
                throw error
            }
            _ = try await client.query("DELETE FROM agents WHERE pool_name = $1", [fixture.pool])
        }
    }

    /// The pool's limits, as `TaskSettings` would give them.
    static func limits(maxQueued: Int = 100, maxAttempts: Int = 3, timeout: Double = 300) -> TaskLimits {
        TaskLimits(defaultTimeout: timeout, defaultMaxAttempts: maxAttempts, maxQueued: maxQueued)
    }

    /// A new agent of the pool that a worker confirmed running; returns it and its worker.
    func runningAgent(pool: String? = nil) async throws -> (agentID: String, processID: String) {
        let agentID = try await pendingAgent(pool: pool)
        let processID = Identifier.make()
        #expect(try await agents.markRunning(id: agentID, processID: processID) != nil)
        return (agentID, processID)
    }

    /// A new agent of the pool that no worker ever confirmed (a spawn in flight).
    func pendingAgent(pool: String? = nil) async throws -> String {
        let agentID = Identifier.make()
        _ = try await agents.insert(
            AgentSpec(agentID: agentID, name: "a", poolName: pool ?? self.pool, role: "developer", metadata: [:]),
            idempotencyKey: nil, requestHash: nil)
        return agentID
    }

    /// Submits to `agentID` and requires the task to be accepted.
    func accepted(
        _ agentID: String, _ input: JSONValue = .object(["n": .number(1)]), key: String? = nil,
        limits: TaskLimits = TaskStoreFixture.limits()
    ) async throws -> TaskRecord {
        let outcome = try await tasks.submit(agentID: agentID, TaskSubmission(input: input, idempotencyKey: key), limits: limits)
        guard case .accepted(let record) = outcome else {
            Issue.record("expected the task to be accepted, got \(outcome)")
            throw TaskFixtureFailure()
        }
        return record
    }

    /// Submits to `agentID` and starts its first attempt on `processID`.
    func running(_ agentID: String, _ processID: String, limits: TaskLimits = TaskStoreFixture.limits()) async throws -> TaskRecord {
        let task = try await accepted(agentID, limits: limits)
        guard case .started(let started) = try await tasks.startAttempt(taskID: task.taskID, processID: processID) else {
            Issue.record("the task's first attempt did not start")
            throw TaskFixtureFailure()
        }
        return started
    }

    /// The kinds of the task's events, oldest first, after checking that their ids are
    /// exactly 1, 2, 3, ... and end at the task's `lastEventID`.
    func eventKinds(_ taskID: String) async throws -> [TaskEventKind] {
        let events = try await tasks.events(taskID: taskID, after: 0)
        #expect(events.map(\.id) == Array(stride(from: 1, through: events.count, by: 1)))
        if let task = try await tasks.fetch(taskID: taskID) { #expect(task.lastEventID == events.count) }
        return events.map(\.kind)
    }

    /// Moves the task's backoff into the past, so that the next attempt may start now.
    func endBackoff(_ taskID: String) async throws {
        try await client.query("UPDATE tasks SET not_before = now() - interval '1 second' WHERE task_id = $1::uuid", [taskID])
    }

    /// How many tasks the pool holds.
    func taskCount() async throws -> Int {
        try await client.query("SELECT count(*) AS n FROM tasks WHERE pool_name = $1", [pool]).rows[0].decode("n")
    }
}

/// A fixture step that did not get what it needed (the issue is recorded where it happened).
struct TaskFixtureFailure: Error {}

/// Prints how long `body` took (the standards ask every test to show the times it saw).
func timed<T>(_ what: String, _ body: () async throws -> T) async rethrows -> T {
    let start = ContinuousClock.now
    let value = try await body()
    print("\(what): \(ContinuousClock.now - start)")
    return value
}
