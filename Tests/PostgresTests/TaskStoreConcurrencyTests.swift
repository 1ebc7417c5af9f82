import AgentStore
import Foundation
import Postgres
import PoolProtocol
import TaskStore
import Testing
import TestSupport

/// The atomic steps under real concurrency (several connections through PgBouncer): exact
/// limits, a DELETE racing submits, one key answered once, one outcome per task, and batched
/// progress that keeps every event's own condition.
@Suite struct TaskStoreConcurrencyTests {
    typealias Fixture = TaskStoreFixture

    /// Runs `call` `count` times at once and returns the results.
    static func concurrently<T: Sendable>(_ count: Int, _ call: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
        try await withThrowingTaskGroup(of: T.self) { group in
            for index in 0..<count { group.addTask { try await call(index) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    @Test("50 concurrent submits against max_queued_tasks 10: exactly 10 accepted, numbered 1 to 10")
    func exactLimit() async throws {
        try await Fixture.with(poolSize: 8) { f in
            let (agentID, _) = try await f.runningAgent()
            let tasks = f.tasks
            let outcomes = try await timed("50 concurrent submits") {
                try await Self.concurrently(50) { n in
                    try await tasks.submit(agentID: agentID, TaskSubmission(input: .number(Double(n))), limits: Fixture.limits(maxQueued: 10))
                }
            }
            let accepted = outcomes.compactMap { outcome -> TaskRecord? in
                if case .accepted(let record) = outcome { record } else { nil }
            }
            #expect(accepted.count == 10)
            #expect(outcomes.filter { $0 == .queueFull }.count == 40)
            #expect(accepted.map(\.seq).sorted() == Array(1...10))
            #expect(try await f.taskCount() == 10)
        }
    }

    @Test("20 concurrent submits racing a DELETE (markStopping) never leave a task queued on the agent")
    func deleteRacesSubmits() async throws {
        try await Fixture.with(poolSize: 8) { f in
            let tasks = f.tasks
            let agents = f.agents
            var acceptedTotal = 0
            for round in 0..<5 {
                let (agentID, _) = try await f.runningAgent()
                let outcomes = try await timed("round \(round): 20 submits and a stop") {
                    try await Self.concurrently(21) { n -> SubmitOutcome? in
                        if n == 10 {
                            _ = try await agents.markStopping(id: agentID)
                            return nil
                        }
                        return try await tasks.submit(agentID: agentID, TaskSubmission(input: .number(Double(n))), limits: Fixture.limits())
                    }
                }.compactMap { $0 }
                let accepted = outcomes.filter { if case .accepted = $0 { true } else { false } }.count
                #expect(accepted + outcomes.filter { $0 == .agentNotRunning }.count == 20)
                acceptedTotal += accepted
                #expect(try await tasks.unfinished(agentIDs: [agentID]).isEmpty)
                let listed = try await tasks.list(TaskFilter(agentID: agentID))
                #expect(listed.count == accepted && listed.allSatisfy { $0.status == .cancelled })
                print("round \(round): \(accepted) accepted before the stop, all cancelled")
            }
            print("accepted in all rounds: \(acceptedTotal)")
        }
    }

    @Test("starts and pool submits racing a stop never leave a task queued or running on the agent")
    func stopRacesStartsAndPoolSubmits() async throws {
        try await Fixture.with(poolSize: 8) { f in
            let tasks = f.tasks
            let agents = f.agents
            let pool = f.pool
            for round in 0..<5 {
                let (agentID, processID) = try await f.runningAgent()
                var queued: [String] = []
                for _ in 0..<10 { queued.append(try await f.accepted(agentID).taskID) }
                let ids = queued
                let started = try await timed("round \(round): 10 starts, 10 pool submits and a stop") {
                    try await Self.concurrently(21) { n -> Int in
                        switch n {
                        case 0..<10:
                            if case .started = try await tasks.startAttempt(taskID: ids[n], processID: processID) { return 1 }
                        case 10:
                            _ = try await agents.markStopping(id: agentID)
                        default:
                            _ = try await tasks.submit(pool: pool, TaskSubmission(input: .null), limits: Fixture.limits())
                        }
                        return 0
                    }
                }.reduce(0, +)
                #expect(try await tasks.unfinished(agentIDs: [agentID]).isEmpty)
                let listed = try await tasks.list(TaskFilter(agentID: agentID))
                #expect(listed.allSatisfy { $0.status == .cancelled })
                print("round \(round): \(started) started and \(listed.count - 10) pool submits landed before the stop; all cancelled")
            }
        }
    }

    @Test("30 concurrent pool submits over 3 agents of max 4 fill each exactly, the rest get queue_full, without deadlocks")
    func poolFillsExactly() async throws {
        try await Fixture.with(poolSize: 8) { f in
            var agentIDs: [String] = []
            for _ in 0..<3 { agentIDs.append(try await f.runningAgent().agentID) }
            let tasks = f.tasks
            let pool = f.pool
            let outcomes = try await timed("30 concurrent pool submits") {
                try await Self.concurrently(30) { n in
                    try await tasks.submit(pool: pool, TaskSubmission(input: .number(Double(n))), limits: Fixture.limits(maxQueued: 4))
                }
            }
            var perAgent: [String: Int] = [:]
            for case .accepted(let record) in outcomes { perAgent[record.agentID, default: 0] += 1 }
            #expect(perAgent == Dictionary(uniqueKeysWithValues: agentIDs.map { ($0, 4) }))
            #expect(outcomes.filter { $0 == .queueFull }.count == 18)
        }
    }

    @Test("10 concurrent submits with one key, to the agent or to the pool, create one task and replay it")
    func oneKeyOneTask() async throws {
        try await Fixture.with(poolSize: 8) { f in
            for _ in 0..<3 { _ = try await f.runningAgent() }
            let (agentID, _) = try await f.runningAgent()
            let tasks = f.tasks
            let pool = f.pool
            for target in ["pool", "agent"] {
                let submission = TaskSubmission(input: .string(target), idempotencyKey: "same-\(target)")
                let outcomes = try await timed("10 submits with one key to the \(target)") {
                    try await Self.concurrently(10) { _ in
                        target == "pool"
                            ? try await tasks.submit(pool: pool, submission, limits: Fixture.limits())
                            : try await tasks.submit(agentID: agentID, submission, limits: Fixture.limits())
                    }
                }
                var ids = Set<String>()
                var accepted = 0
                for outcome in outcomes {
                    switch outcome {
                    case .accepted(let record): accepted += 1; ids.insert(record.taskID)
                    case .replayed(let record): ids.insert(record.taskID)
                    default: Issue.record("unexpected \(outcome)")
                    }
                }
                #expect(accepted == 1 && ids.count == 1)
            }
            #expect(try await f.taskCount() == 2)
        }
    }

    @Test("a success, a cancel, a stale worker's answer and the leader's sweep race: exactly one outcome is recorded")
    func oneOutcome() async throws {
        try await Fixture.with(poolSize: 8) { f in
            let (agentID, processID) = try await f.runningAgent()
            let tasks = f.tasks
            for round in 0..<10 {
                let task = try await f.running(agentID, processID, limits: Fixture.limits(maxAttempts: 1))
                let results = try await Self.concurrently(5) { n -> TaskRecord? in
                    switch n {
                    case 0: return try await tasks.finishAttempt(taskID: task.taskID, attempt: 1, processID: processID, result: .succeeded(.number(1)))
                    case 1: return try await tasks.finishAttempt(taskID: task.taskID, attempt: 1, processID: processID, result: .failed(TaskFailure(message: "x", retryable: false)))
                    case 2:
                        _ = try await tasks.cancel(taskID: task.taskID)
                        return try await tasks.expireCancel(taskID: task.taskID, grace: .zero).flatMap { $0.status == .cancelled ? $0 : nil }
                    case 3: return try await tasks.settleLostAttempts(pool: f.pool, liveProcesses: [], sparing: .zero).first
                    default: return try await tasks.finishAttempt(taskID: task.taskID, attempt: 1, processID: processID, result: .timedOut)
                    }
                }
                let final = try #require(try await tasks.fetch(taskID: task.taskID))
                #expect(final.status.isFinal)
                let events = try await tasks.events(taskID: task.taskID, after: 0)
                #expect(events.filter(\.kind.isFinal).count == 1 && events.last?.kind == TaskEventKind(final: final.status))
                #expect(events.map(\.id) == Array(1...events.count))
                // The callers that changed it are the ones whose answer is the final row (the
                // expireCancel caller also sees the final row when another cancel ended it).
                #expect(results.compactMap { $0 }.allSatisfy { $0 == final })
                print("round \(round): \(final.status.rawValue)")
            }
        }
    }

    @Test("progress from 50 attempts at once shares statements, each event keeping its own condition")
    func batchedProgress() async throws {
        try await Fixture.with(poolSize: 1) { f in
            let (agentID, processID) = try await f.runningAgent()
            var started: [TaskRecord] = []
            for _ in 0..<50 { started.append(try await f.running(agentID, processID)) }
            let running = started
            let stale = Set(running.prefix(5).map(\.taskID))
            let before = f.tasks.progressStatements
            let blocker = try await ConnectionBlocker(f.client)
            let tasks = f.tasks
            let work = Task {
                try await Self.concurrently(running.count) { index -> (String, Int?) in
                    let task = running[index]
                    // Five answer for an old attempt: they must not be recorded.
                    let attempt = stale.contains(task.taskID) ? 7 : 1
                    let id = try await tasks.recordProgress(
                        taskID: task.taskID, attempt: attempt, processID: processID, data: .object(["i": .number(Double(index))]))
                    return (task.taskID, id)
                }
            }
            try await Poll.until("50 progress writes wait") { tasks.progressWaiting == 50 }
            try await blocker.release()
            let results = try await timed("50 batched progress writes") { try await work.value }
            let statements = f.tasks.progressStatements - before
            print("50 progress writes went out in \(statements) statement(s)")
            #expect(statements < 50)
            for (taskID, id) in results {
                if stale.contains(taskID) {
                    #expect(id == nil)
                    #expect(try await f.tasks.events(taskID: taskID, after: 0).count == 2)
                } else {
                    #expect(id == 3)
                    let events = try await f.tasks.events(taskID: taskID, after: 2)
                    let index = try #require(running.firstIndex { $0.taskID == taskID })
                    #expect(events.count == 1 && events[0].data == ["attempt": .number(1), "data": .object(["i": .number(Double(index))])])
                }
            }
        }
    }
}
