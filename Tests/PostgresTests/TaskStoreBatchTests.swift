import AgentStore
import Foundation
import Postgres
import PoolProtocol
import Synchronization
import TaskStore
import Testing
import TestSupport

/// `startAttempt` and `finishAttempt` batched (migration 5) on the real database through
/// PgBouncer: calls that wait for the only connection share statements, and each caller gets
/// exactly what its own single-row call would have answered, stale ones included.
@Suite struct TaskStoreBatchTests {
    typealias Fixture = TaskStoreFixture

    static func whileBlocked<Result: Sendable>(
        _ f: Fixture, _ count: Int, _ call: @escaping @Sendable (Int) async throws -> Result
    ) async throws -> [Int: Result] {
        try await f.whileBlocked(count, waiting: { $0.attemptsWaiting }, call)
    }

    @Test("concurrent starts share statements; started, cancelled, in backoff, taken and unknown are each answered as alone")
    func concurrentStarts() async throws {
        try await Fixture.with(poolSize: 1) { f in
            var plain: [(task: String, process: String)] = []
            for _ in 0..<20 {
                let (agentID, processID) = try await f.runningAgent()
                plain.append((try await f.accepted(agentID).taskID, processID))
            }
            let (agentID, processID) = try await f.runningAgent()
            // A cancel recorded while it was queued (a delivery after the cancel): ends cancelled.
            let cancelled = try await f.accepted(agentID)
            try await f.client.query("UPDATE tasks SET cancel_requested_at = now() WHERE task_id = $1::uuid", [cancelled.taskID])
            // In backoff after a retryable failure.
            let backoff = try await f.running(agentID, processID)
            let retried = try await f.tasks.finishAttempt(
                taskID: backoff.taskID, attempt: 1, processID: processID,
                result: .failed(TaskFailure(message: "again", retryable: true)))
            #expect(retried?.status == .queued)
            // Asked for by a worker the agent is not placed on.
            let elsewhere = try await f.accepted(agentID)
            // Running already.
            let running = try await f.running(agentID, processID)
            // Asked for twice at once: exactly one start.
            let twice = try await f.accepted(agentID)
            let unknown = Identifier.make()

            let calls: [(task: String, process: String)] =
                plain + [
                    (cancelled.taskID, processID), (backoff.taskID, processID), (elsewhere.taskID, Identifier.make()),
                    (running.taskID, processID), (twice.taskID, processID), (twice.taskID, processID), (unknown, processID),
                ]
            let before = f.tasks.startStatements
            let store = f.tasks
            let answers = try await timed("\(calls.count) concurrent starts") {
                try await Self.whileBlocked(f, calls.count) { index in
                    try await store.startAttempt(taskID: calls[index].task, processID: calls[index].process)
                }
            }
            let statements = f.tasks.startStatements - before
            print("\(calls.count) starts: \(statements) statements")
            #expect(statements < calls.count)

            for (index, call) in plain.enumerated() {
                guard case .started(let record)? = answers[index] else {
                    Issue.record("task \(index) did not start: \(String(describing: answers[index]))")
                    continue
                }
                #expect(record.taskID == call.task && record.status == .running && record.attempt == 1 && record.owner == call.process)
                #expect(try await f.eventKinds(call.task) == [.queued, .started])
            }
            let base = plain.count
            guard case .cancelled(let ended)? = answers[base] else {
                Issue.record("the cancelled task answered \(String(describing: answers[base]))")
                return
            }
            #expect(ended.status == .cancelled && ended.attempt == 0 && ended.finishedAt != nil)
            #expect(try await f.eventKinds(cancelled.taskID) == [.queued, .cancelled])
            guard case .notBefore(let until)? = answers[base + 1] else {
                Issue.record("the task in backoff answered \(String(describing: answers[base + 1]))")
                return
            }
            #expect(until > Date())
            #expect(answers[base + 2] == .notStartable)
            #expect(answers[base + 3] == .notStartable)
            let twiceAnswers = [answers[base + 4], answers[base + 5]]
            #expect(twiceAnswers.filter { if case .started? = $0 { true } else { false } }.count == 1)
            #expect(twiceAnswers.filter { $0 == .notStartable }.count == 1)
            #expect(answers[base + 6] == .notStartable)
            #expect(try await f.eventKinds(twice.taskID) == [.queued, .started])
            #expect(try await f.fetch(running.taskID).attempt == 1)
            #expect(try await f.fetch(elsewhere.taskID).status == .queued)
        }
    }

    @Test("one batch of outcomes: succeeded, failed, timed out and cancelled, retried or final, and stale answers that change nothing")
    func mixedOutcomes() async throws {
        try await Fixture.with(poolSize: 1) { f in
            let (agentID, processID) = try await f.runningAgent()
            let limits = Fixture.limits(maxAttempts: 2)
            func running() async throws -> TaskRecord { try await f.running(agentID, processID, limits: limits) }
            /// A task in its second (last) attempt.
            func lastAttempt() async throws -> TaskRecord {
                let task = try await running()
                _ = try await f.tasks.finishAttempt(
                    taskID: task.taskID, attempt: 1, processID: processID, result: .failed(TaskFailure(message: "x", retryable: true)))
                try await f.endBackoff(task.taskID)
                guard case .started(let again) = try await f.tasks.startAttempt(taskID: task.taskID, processID: processID) else {
                    Issue.record("the second attempt did not start")
                    throw TaskFixtureFailure()
                }
                return again
            }
            let odd: JSONValue = .object([
                "quote": .string("it's \"quoted\" \\ {braced} [x]"), "nul": .string("a\u{0}b"), "unicode": .string("żółw 🐢"),
                "list": .array([.null, .bool(true), .number(1.5)]),
            ])
            let big: JSONValue = .string(String(repeating: "b", count: 300 * 1024))
            var deep: JSONValue = .number(1)
            for _ in 0..<80 { deep = .array([deep]) }

            struct Case: Sendable {
                let name: String
                let task: TaskRecord
                let attempt: Int
                let process: String
                let result: AttemptResult
            }
            var cases: [Case] = []
            func add(_ name: String, _ task: TaskRecord, _ result: AttemptResult, attempt: Int? = nil, process: String? = nil) {
                cases.append(Case(name: name, task: task, attempt: attempt ?? task.attempt, process: process ?? processID, result: result))
            }
            add("succeeded", try await running(), .succeeded(odd))
            add("succeeded null", try await running(), .succeeded(.null))
            add("succeeded big", try await running(), .succeeded(big))
            add("succeeded deep", try await running(), .succeeded(deep))
            add("retryable", try await running(), .failed(TaskFailure(message: "try \"again\"\u{0}", retryable: true)))
            add("not retryable", try await running(), .failed(TaskFailure(message: "no", retryable: false)))
            add("timed out", try await running(), .timedOut)
            add("timed out last", try await lastAttempt(), .timedOut)
            add("failed last", try await lastAttempt(), .failed(TaskFailure(message: "last", retryable: true)))
            add("cancelled", try await running(), .cancelled)
            let cancelWins = try await running()
            _ = try await f.tasks.cancel(taskID: cancelWins.taskID)
            add("failed after cancel", cancelWins, .failed(TaskFailure(message: "late", retryable: true)))
            let successWins = try await running()
            _ = try await f.tasks.cancel(taskID: successWins.taskID)
            add("succeeded after cancel", successWins, .succeeded(.string("done")))
            add("stale attempt", try await running(), .succeeded(.string("old")), attempt: 7)
            add("other owner", try await running(), .succeeded(.string("fenced")), process: Identifier.make())
            let finished = try await running()
            _ = try await f.tasks.finishAttempt(taskID: finished.taskID, attempt: 1, processID: processID, result: .succeeded(.number(1)))
            add("already final", finished, .failed(TaskFailure(message: "late", retryable: false)))

            let before = f.tasks.finishStatements
            let store = f.tasks
            let calls = cases
            let answers = try await timed("\(calls.count) concurrent outcomes") {
                try await Self.whileBlocked(f, calls.count - 2) { index in
                    // The big and deep outputs go alone (not through the batch, not counted as waiting).
                    let item = calls[index < 2 ? index : index + 2]
                    return try await store.finishAttempt(taskID: item.task.taskID, attempt: item.attempt, processID: item.process, result: item.result)
                }
            }
            var byName: [String: TaskRecord?] = [:]
            for (index, answer) in answers { byName[calls[index < 2 ? index : index + 2].name] = answer }
            for index in [2, 3] {
                let item = calls[index]
                byName[item.name] = try await store.finishAttempt(
                    taskID: item.task.taskID, attempt: item.attempt, processID: item.process, result: item.result)
            }
            let statements = f.tasks.finishStatements - before
            print("\(calls.count - 2) batched outcomes: \(statements) statements")
            #expect(statements < calls.count - 2)

            func record(_ name: String) -> TaskRecord? { byName[name] ?? nil }
            #expect(record("succeeded")?.status == .succeeded)
            #expect(record("succeeded")?.output == .object([
                "quote": .string("it's \"quoted\" \\ {braced} [x]"), "nul": .string("a\u{FFFD}b"), "unicode": .string("żółw 🐢"),
                "list": .array([.null, .bool(true), .number(1.5)]),
            ]))
            #expect(record("succeeded null")?.status == .succeeded && record("succeeded null")?.output == .null)
            #expect(record("succeeded big")?.output == big)
            #expect(record("succeeded deep")?.output == deep)
            #expect(record("retryable")?.status == .queued && record("retryable")?.notBefore != nil)
            #expect(record("retryable")?.error == TaskFailure(message: "try \"again\"\u{FFFD}", retryable: true))
            #expect(record("not retryable")?.status == .failed && record("not retryable")?.error == TaskFailure(message: "no", retryable: false))
            #expect(record("timed out")?.status == .queued && record("timed out")?.error?.retryable == true)
            #expect(record("timed out last")?.status == .timedOut && record("timed out last")?.attempt == 2)
            #expect(record("failed last")?.status == .failed && record("failed last")?.error?.message == "last")
            #expect(record("cancelled")?.status == .cancelled)
            #expect(record("failed after cancel")?.status == .cancelled)
            #expect(record("succeeded after cancel")?.status == .succeeded && record("succeeded after cancel")?.output == .string("done"))
            for stale in ["stale attempt", "other owner", "already final"] {
                #expect(byName[stale] == .some(nil), "\(stale) changed something")
            }
            for item in calls {
                let events = try await f.eventKinds(item.task.taskID)
                switch item.name {
                case "retryable", "timed out": #expect(events == [.queued, .started, .retrying], "\(item.name)")
                case "timed out last": #expect(events == [.queued, .started, .retrying, .started, .timedOut])
                case "failed last": #expect(events == [.queued, .started, .retrying, .started, .failed])
                case "stale attempt", "other owner": #expect(events == [.queued, .started], "\(item.name)")
                    #expect(try await f.fetch(item.task.taskID).status == .running)
                case "already final": #expect(events == [.queued, .started, .succeeded])
                default: #expect(events.count == 3 && events.first == .queued, "\(item.name)")
                }
            }
        }
    }

    @Test("an element that fails fails its whole batch and changes nothing: one statement, one transaction")
    func failingElementChangesNothing() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let ordered = [try await f.running(agentID, processID), try await f.running(agentID, processID)]
                .sorted { $0.taskID < $1.taskID }
            // Elements run in task id order: the fine one is applied first. The broken one's error
            // (`TaskStore` never sends one: `retryable` is a Bool there) fails its policy's cast.
            let (fine, broken) = (ordered[0], ordered[1])
            let errors = ordered.map { $0.taskID == broken.taskID ? "{\"message\":\"x\",\"retryable\":\"maybe\"}" : "null" }
            await #expect(throws: PostgresError.self) {
                try await f.client.query(
                    """
                    SELECT r.n FROM agentpool_finish_attempts($1::uuid[], '{1,1}'::int[], $2::uuid[], $3::text[], $4::jsonb, $5::jsonb) AS r
                    """,
                    [
                        "{\(ordered[0].taskID),\(ordered[1].taskID)}", "{\(processID),\(processID)}",
                        "{\(ordered.map { $0.taskID == broken.taskID ? "failed" : "succeeded" }.joined(separator: ","))}",
                        "[1,1]", "[\(errors.joined(separator: ","))]",
                    ])
            }
            for task in [fine, broken] {
                #expect(try await f.fetch(task.taskID).status == .running)
                #expect(try await f.eventKinds(task.taskID) == [.queued, .started])
            }
        }
    }

    @Test("a start does not wait for its agent's row: with a writer holding it, the whole batch starts in one statement")
    func busyAgentRow() async throws {
        try await Fixture.with(poolSize: 1) { f in
            let (busyAgent, processID) = try await f.runningAgent()
            let busyTask = try await f.accepted(busyAgent)
            var others: [(task: String, process: String)] = []
            for _ in 0..<10 {
                let (agentID, process) = try await f.runningAgent()
                others.append((try await f.accepted(agentID).taskID, process))
            }
            // A writer (a submit, a termination on its way) holds the agent's row on a
            // connection of its own until every start has answered (migration 7).
            try await TestDatabase.withClient(poolSize: 1) { locker in
                let holding = AsyncStream.makeStream(of: Void.self)
                let release = Fixture.Flag()
                let lock = Task {
                    try await locker.withTransaction { connection in
                        try await connection.query("SELECT id FROM agents WHERE id = $1::uuid FOR UPDATE", [busyAgent])
                        holding.continuation.yield()
                        while !release.isSet { try await connection.query("SELECT pg_sleep(0.01)") }
                    }
                }
                defer { release.set() }
                for await _ in holding.stream { break }
                let calls = others + [(busyTask.taskID, processID)]
                let before = f.tasks.startStatements
                let store = f.tasks
                let results = try await timed("\(calls.count) starts, one agent's row held") {
                    try await Self.whileBlocked(f, calls.count) { index in
                        try await store.startAttempt(taskID: calls[index].task, processID: calls[index].process)
                    }
                }
                #expect(!release.isSet, "the starts answered while the row was held")
                for (index, call) in calls.enumerated() {
                    guard case .started(let record)? = results[index] else {
                        Issue.record("\(call.task) answered \(String(describing: results[index]))")
                        continue
                    }
                    #expect(record.owner == call.process && record.attempt == 1)
                }
                let statements = f.tasks.startStatements - before
                print("\(calls.count) starts, one agent's row held: \(statements) statements")
                #expect(statements == 1)
                release.set()
                try await lock.value
            }
        }
    }
}

/// `submit(agentID:)` without a key, batched (migration 5): every element keeps the single
/// submit's checks, in order, with the agent's row locked for the whole batch.
@Suite struct TaskStoreBatchSubmitTests {
    typealias Fixture = TaskStoreFixture

    static func whileBlocked<Result: Sendable>(
        _ f: Fixture, _ count: Int, _ call: @escaping @Sendable (Int) async throws -> Result
    ) async throws -> [Int: Result] {
        try await f.whileBlocked(count, waiting: { $0.agentSubmitsWaiting }, call)
    }

    @Test("one batch of submits: exact max_queued_tasks per agent, not running, not found, each answered as alone")
    func exactLimitInOneBatch() async throws {
        try await Fixture.with(poolSize: 1) { f in
            let (full, _) = try await f.runningAgent()
            let (roomy, _) = try await f.runningAgent()
            let pending = try await f.pendingAgent()
            let unknown = Identifier.make()
            let targets = Array(repeating: full, count: 30) + Array(repeating: roomy, count: 5)
                + Array(repeating: pending, count: 3) + Array(repeating: unknown, count: 2)
            let before = f.tasks.agentSubmitStatements
            let store = f.tasks
            let outcomes = try await timed("\(targets.count) concurrent submits") {
                try await Self.whileBlocked(f, targets.count) { index in
                    try await store.submit(
                        agentID: targets[index], TaskSubmission(input: .object(["i": .number(Double(index))])),
                        limits: Fixture.limits(maxQueued: 10))
                }
            }
            let statements = f.tasks.agentSubmitStatements - before
            print("\(targets.count) submits: \(statements) statements")
            #expect(statements < targets.count)
            func accepted(_ agent: String) -> [TaskRecord] {
                outcomes.filter { targets[$0.key] == agent }.compactMap { if case .accepted(let r) = $0.value { r } else { nil } }
            }
            #expect(accepted(full).map(\.seq).sorted() == Array(1...10))
            #expect(outcomes.filter { targets[$0.key] == full && $0.value == .queueFull }.count == 20)
            #expect(accepted(roomy).map(\.seq).sorted() == Array(1...5))
            #expect(outcomes.filter { targets[$0.key] == pending }.allSatisfy { $0.value == .agentNotRunning })
            #expect(outcomes.filter { targets[$0.key] == unknown }.allSatisfy { $0.value == .agentNotFound })
            for (index, outcome) in outcomes {
                guard case .accepted(let record) = outcome else { continue }
                #expect(record.input == .object(["i": .number(Double(index))]) && record.status == .queued)
                #expect(try await f.eventKinds(record.taskID) == [.queued])
            }
            #expect(try await f.taskCount() == 15)
        }
    }

    @Test("a batch of submits racing a DELETE on another connection never leaves a task queued on the agent")
    func deleteRacesBatch() async throws {
        try await Fixture.with(poolSize: 1) { f in
            try await TestDatabase.withClient(poolSize: 1) { other in
                let stopper = AgentStore(client: other)
                for round in 0..<5 {
                    let (agentID, _) = try await f.runningAgent()
                    let blocker = try await ConnectionBlocker(f.client)
                    let store = f.tasks
                    let submits = Task {
                        try await withThrowingTaskGroup(of: SubmitOutcome.self) { group in
                            for n in 0..<20 {
                                group.addTask {
                                    try await store.submit(agentID: agentID, TaskSubmission(input: .number(Double(n))), limits: Fixture.limits())
                                }
                            }
                            return try await group.reduce(into: []) { $0.append($1) }
                        }
                    }
                    try await Poll.until("20 submits wait") { store.agentSubmitsWaiting == 20 }
                    async let stop = stopper.markStopping(id: agentID)
                    try await blocker.release()
                    let outcomes = try await submits.value
                    _ = try await stop
                    let accepted = outcomes.filter { if case .accepted = $0 { true } else { false } }.count
                    print("round \(round): \(accepted) of 20 accepted before the stop")
                    #expect(accepted + outcomes.filter { $0 == .agentNotRunning }.count == 20)
                    let left = try await f.client.query(
                        "SELECT count(*) AS n FROM tasks WHERE agent_id = $1::uuid AND status IN ('queued', 'running')", [agentID])
                    #expect(try left.rows[0].decode("n", as: Int.self) == 0)
                    let cancelled = try await f.client.query(
                        "SELECT count(*) AS n FROM tasks WHERE agent_id = $1::uuid AND status = 'cancelled'", [agentID])
                    #expect(try cancelled.rows[0].decode("n", as: Int.self) == accepted)
                }
            }
        }
    }
}

extension TaskStoreFixture {
    /// The task as it is now; records an issue when it is gone.
    func fetch(_ taskID: String) async throws -> TaskRecord {
        guard let record = try await tasks.fetch(taskID: taskID) else {
            Issue.record("task \(taskID) is gone")
            throw TaskFixtureFailure()
        }
        return record
    }

    /// A flag one task sets and a loop on a pool thread reads.
    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
        func set() { value.store(true, ordering: .sequentiallyConsistent) }
    }
}

extension TaskStoreFixture {
    /// Runs every call concurrently while the store's only connection is held, until `waiting`
    /// counts them all queued for it (so they batch), then lets them go; returns the results
    /// by index.
    func whileBlocked<Result: Sendable>(
        _ count: Int, waiting: @escaping @Sendable (TaskStore) -> Int,
        _ call: @escaping @Sendable (Int) async throws -> Result
    ) async throws -> [Int: Result] {
        let blocker = try await ConnectionBlocker(client)
        let tasks = self.tasks
        let results = Task {
            try await withThrowingTaskGroup(of: (Int, Result).self) { group in
                for index in 0..<count { group.addTask { (index, try await call(index)) } }
                return try await group.reduce(into: [Int: Result]()) { $0[$1.0] = $1.1 }
            }
        }
        try await Poll.until("\(count) batched writes wait") { waiting(tasks) == count }
        try await blocker.release()
        return try await results.value
    }
}
