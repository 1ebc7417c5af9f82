import AgentStore
import Foundation
import Postgres
import PoolProtocol
import TaskStore
import Testing

/// Submits (contract section 5, Acceptance and Idempotency) on the real database through
/// PgBouncer: the order of checks, exact limits, the two key spaces, and that a refusal
/// creates nothing.
@Suite struct TaskStoreSubmitTests {
    typealias Fixture = TaskStoreFixture

    @Test("an accepted task is queued with the agent's next number and its first event")
    func acceptedTasksAreNumbered() async throws {
        try await Fixture.with { f in
            let (agentID, _) = try await f.runningAgent()
            let records = try await timed("three submits") {
                var records: [TaskRecord] = []
                for n in 1...3 { records.append(try await f.accepted(agentID, .object(["n": .number(Double(n))]))) }
                return records
            }
            #expect(records.map(\.seq) == [1, 2, 3])
            for record in records {
                #expect(record.status == .queued && record.attempt == 0 && record.maxAttempts == 3 && record.timeout == 300)
                #expect(record.poolName == f.pool && record.agentID == agentID && record.owner == nil)
                #expect(record.output == nil && record.error == nil && record.startedAt == nil && record.finishedAt == nil)
                #expect(try await f.tasks.fetch(taskID: record.taskID) == record)
                let events = try await f.tasks.events(taskID: record.taskID, after: 0)
                #expect(events.map(\.id) == [1] && events.first?.kind == .queued && events.first?.data == ["attempt": .number(0)])
            }
            #expect(records[0].createdAt <= records[1].createdAt && records[1].createdAt <= records[2].createdAt)
            // The task's own timeout and max_attempts win over the pool's.
            let own = try await f.tasks.submit(
                agentID: agentID, TaskSubmission(input: .string("x"), timeout: 0.5, maxAttempts: 7), limits: Fixture.limits())
            guard case .accepted(let record) = own else {
                Issue.record("not accepted: \(own)")
                return
            }
            #expect(record.timeout == 0.5 && record.maxAttempts == 7 && record.input == .string("x") && record.seq == 4)
        }
    }

    @Test("unknown agents, agents that never ran or should not run are refused, and a refusal creates nothing")
    func acceptanceChecks() async throws {
        try await Fixture.with { f in
            let submission = TaskSubmission(input: .null)
            let limits = Fixture.limits()
            #expect(try await f.tasks.submit(agentID: Identifier.make(), submission, limits: limits) == .agentNotFound)
            #expect(try await f.tasks.submit(agentID: "not-a-uuid", submission, limits: limits) == .agentNotFound)
            #expect(try await f.tasks.submit(agentID: "'; DROP TABLE tasks; --", submission, limits: limits) == .agentNotFound)

            let pending = try await f.pendingAgent()
            #expect(try await f.tasks.submit(agentID: pending, submission, limits: limits) == .agentNotRunning)

            // Re-placement after its worker died: pending again, but it ran once, so it accepts.
            let (replaced, worker) = try await f.runningAgent()
            try await f.agents.markUnplaced(id: replaced, processID: worker)
            #expect(try await f.agents.fetch(id: replaced)?.status == .pending)
            _ = try await f.accepted(replaced)

            let (stopped, _) = try await f.runningAgent()
            _ = try await f.agents.markStopping(id: stopped)
            #expect(try await f.tasks.submit(agentID: stopped, submission, limits: limits) == .agentNotRunning)
            let (terminated, _) = try await f.runningAgent()
            try await f.agents.markTerminated(id: terminated)
            #expect(try await f.tasks.submit(agentID: terminated, submission, limits: limits) == .agentNotRunning)
            #expect(try await f.taskCount() == 1)
            // Nothing of the refusals was numbered either.
            #expect(try await f.accepted(replaced).seq == 2)
        }
    }

    @Test("max_queued_tasks counts queued and running tasks, and a finished one frees a place")
    func queueLimit() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let limits = Fixture.limits(maxQueued: 2)
            let first = try await f.running(agentID, processID, limits: limits)
            _ = try await f.accepted(agentID, limits: limits)
            #expect(try await f.tasks.submit(agentID: agentID, TaskSubmission(input: .null), limits: limits) == .queueFull)
            #expect(try await f.taskCount() == 2)
            _ = try await f.tasks.finishAttempt(taskID: first.taskID, attempt: 1, processID: processID, result: .succeeded(.null))
            #expect(try await f.accepted(agentID, limits: limits).seq == 3)
        }
    }

    @Test("an agent submit's key: a replay answers the first task, another body conflicts, before 409 and 429")
    func agentKeys() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let limits = Fixture.limits(maxQueued: 1)
            let body = JSONValue.object(["a": .number(1), "list": .array([.string("x"), .null])])
            let first = try await f.accepted(agentID, body, key: "k-1", limits: limits)
            // jsonb equality: the same JSON written another way is the same body.
            let again = try await f.tasks.submit(
                agentID: agentID,
                TaskSubmission(input: .object(["list": .array([.string("x"), .null]), "a": .number(1.0)]), idempotencyKey: "k-1"),
                limits: limits)
            #expect(again == .replayed(first))
            // The resolved timeout and max_attempts are part of the body.
            let explicit = TaskSubmission(input: body, timeout: 300, maxAttempts: 3, idempotencyKey: "k-1")
            #expect(try await f.tasks.submit(agentID: agentID, explicit, limits: limits) == .replayed(first))
            for other in [
                TaskSubmission(input: .object(["a": .number(2)]), idempotencyKey: "k-1"),
                TaskSubmission(input: body, timeout: 10, idempotencyKey: "k-1"),
                TaskSubmission(input: body, maxAttempts: 1, idempotencyKey: "k-1"),
            ] {
                #expect(try await f.tasks.submit(agentID: agentID, other, limits: limits) == .keyConflict)
            }
            // The queue is full (limit 1), yet the replay is resolved first; a new key gets 429.
            #expect(try await f.tasks.submit(agentID: agentID, TaskSubmission(input: body, idempotencyKey: "k-2"), limits: limits) == .queueFull)

            // A replay answers the task as it is now, even once the agent should no longer run.
            guard case .started = try await f.tasks.startAttempt(taskID: first.taskID, processID: processID) else {
                Issue.record("the first attempt did not start")
                return
            }
            _ = try await f.tasks.finishAttempt(taskID: first.taskID, attempt: 1, processID: processID, result: .succeeded(.bool(true)))
            _ = try await f.agents.markStopping(id: agentID)
            guard case .replayed(let now) = try await f.tasks.submit(
                agentID: agentID, TaskSubmission(input: body, idempotencyKey: "k-1"), limits: limits)
            else {
                Issue.record("the replay was not resolved before the acceptance check")
                return
            }
            #expect(now.taskID == first.taskID && now.status == .succeeded && now.output == .bool(true))
            #expect(try await f.tasks.submit(agentID: agentID, TaskSubmission(input: body, idempotencyKey: "k-2"), limits: limits) == .agentNotRunning)

            // Keys are scoped to the agent: another agent may use the same one.
            let (other, _) = try await f.runningAgent()
            #expect(try await f.accepted(other, body, key: "k-1", limits: limits).taskID != first.taskID)
        }
    }

    @Test("a pool submit's key lives in its own space, scoped to the pool")
    func poolKeys() async throws {
        try await Fixture.with { f in
            let (agentID, _) = try await f.runningAgent()
            let limits = Fixture.limits()
            let body = TaskSubmission(input: .string("pool"), idempotencyKey: "shared")
            guard case .accepted(let viaPool) = try await f.tasks.submit(pool: f.pool, body, limits: limits) else {
                Issue.record("the pool submit was not accepted")
                return
            }
            #expect(viaPool.agentID == agentID)
            #expect(try await f.tasks.submit(pool: f.pool, body, limits: limits) == .replayed(viaPool))
            #expect(try await f.tasks.submit(pool: f.pool, TaskSubmission(input: .string("other"), idempotencyKey: "shared"), limits: limits) == .keyConflict)
            // The same key on the agent itself is another space: a new task.
            let viaAgent = try await f.accepted(agentID, .string("pool"), key: "shared", limits: limits)
            #expect(viaAgent.taskID != viaPool.taskID)
            #expect(try await f.tasks.submit(agentID: agentID, body, limits: limits) == .replayed(viaAgent))
            // Another pool's key space is its own too.
            let otherPool = f.pool + "_b"
            let (otherAgent, _) = try await f.runningAgent(pool: otherPool)
            guard case .accepted(let elsewhere) = try await f.tasks.submit(pool: otherPool, body, limits: limits) else {
                Issue.record("the other pool's submit was not accepted")
                return
            }
            #expect(elsewhere.agentID == otherAgent)
            _ = try await f.client.query("DELETE FROM agents WHERE pool_name = $1", [otherPool])
        }
    }

    @Test("a pool submit goes to the running agent with the fewest unfinished tasks; 429 when all are full, 503 when none runs")
    func poolPlacement() async throws {
        try await Fixture.with { f in
            let limits = Fixture.limits(maxQueued: 2)
            let submission = TaskSubmission(input: .null)
            #expect(try await f.tasks.submit(pool: f.pool, submission, limits: limits) == .noRunningAgent)
            _ = try await f.pendingAgent()  // never ran: not a candidate
            #expect(try await f.tasks.submit(pool: f.pool, submission, limits: limits) == .noRunningAgent)
            let (busy, _) = try await f.runningAgent()
            let (idle, _) = try await f.runningAgent()
            _ = try await f.accepted(busy, limits: limits)
            guard case .accepted(let placed) = try await f.tasks.submit(pool: f.pool, submission, limits: limits) else {
                Issue.record("the pool submit was not accepted")
                return
            }
            #expect(placed.agentID == idle)
            var placedOn: [String] = []
            for _ in 0..<2 {
                if case .accepted(let record) = try await f.tasks.submit(pool: f.pool, submission, limits: limits) {
                    placedOn.append(record.agentID)
                }
            }
            #expect(placedOn.sorted() == [busy, idle].sorted())
            #expect(try await f.tasks.submit(pool: f.pool, submission, limits: limits) == .queueFull)
            #expect(try await f.taskCount() == 4)
            // An agent being stopped is no candidate: with both stopping, none runs.
            _ = try await f.agents.markStopping(id: busy)
            _ = try await f.agents.markStopping(id: idle)
            #expect(try await f.tasks.submit(pool: f.pool, submission, limits: limits) == .noRunningAgent)
        }
    }

    @Test("a submission the store cannot take is refused with a clear error before PostgreSQL sees it")
    func invalidSubmissions() async throws {
        try await Fixture.with { f in
            let (agentID, _) = try await f.runningAgent()
            let limits = Fixture.limits()
            for submission in [
                TaskSubmission(input: .null, timeout: 0), TaskSubmission(input: .null, timeout: -1),
                TaskSubmission(input: .null, timeout: .nan), TaskSubmission(input: .null, timeout: .infinity),
                TaskSubmission(input: .null, maxAttempts: 0), TaskSubmission(input: .null, maxAttempts: Int.max),
                TaskSubmission(input: .object(["k": .string("a\u{0}b")])),
            ] {
                #expect(submission.problem(limits: limits) != nil)
                await #expect(throws: TaskStoreError.self) { try await f.tasks.submit(agentID: agentID, submission, limits: limits) }
                await #expect(throws: TaskStoreError.self) { try await f.tasks.submit(pool: f.pool, submission, limits: limits) }
            }
            #expect(try await f.taskCount() == 0)
            // Odd but valid JSON and keys are stored as they are.
            let odd = JSONValue.object(["quote \"'": .array([.number(1e300), .number(-0.5), .string("ünï \\ {x}")]), "": .null])
            let record = try await f.accepted(agentID, odd, key: "ключ 'quoted' \"x\"")
            #expect(try await f.tasks.fetch(taskID: record.taskID)?.input == odd)
        }
    }

    @Test("fetch and events of ids that are not UUIDs answer nothing instead of an error")
    func foreignIDs() async throws {
        try await Fixture.with { f in
            for id in ["", "nope", "1234", "00000000-0000-0000-0000-00000000000g", Identifier.make()] {
                #expect(try await f.tasks.fetch(taskID: id) == nil)
                #expect(try await f.tasks.events(taskID: id, after: 0).isEmpty)
                #expect(try await f.tasks.cancel(taskID: id) == .notFound)
                #expect(try await f.tasks.expireCancel(taskID: id, grace: .zero) == nil)
                #expect(try await f.tasks.startAttempt(taskID: id, processID: Identifier.make()) == .notStartable)
                #expect(try await f.tasks.loadState(agentID: id) == nil)
            }
            // An uppercase UUID is the same id.
            let (agentID, _) = try await f.runningAgent()
            let record = try await f.accepted(agentID.uppercased())
            #expect(try await f.tasks.fetch(taskID: record.taskID.uppercased()) == record)
        }
    }
}
