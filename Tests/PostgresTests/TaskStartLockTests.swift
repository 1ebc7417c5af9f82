import Foundation
import Postgres
import PoolProtocol
import TaskStore
import Testing

/// An attempt's start against a termination in flight (migration 7: the start locks its task,
/// then reads the agent's row without a lock). Whichever commits first, the task ends with
/// exactly one outcome, `cancelled`, and a late answer of the started attempt changes nothing.
@Suite struct TaskStartLockTests {
    typealias Fixture = TaskStoreFixture

    @Test("a termination that has marked the agent but not reached its tasks: the start commits, then the termination cancels it")
    func terminationBehindTheStart() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let task = try await f.accepted(agentID)
            try await TestDatabase.withClient(poolSize: 1) { terminator in
                let started: AttemptStart = try await terminator.withTransaction { connection in
                    // The first half of agentpool_stop_agents, uncommitted: the agent's row is locked.
                    try await connection.query(
                        "UPDATE agents SET desired_state = 'terminated', status = 'stopping' WHERE id = $1::uuid", [agentID])
                    // The start neither waits for the row nor sees the uncommitted termination.
                    let start = try await timed("a start beside an uncommitted termination") {
                        try await f.tasks.startAttempt(taskID: task.taskID, processID: processID)
                    }
                    // The second half: the agent's unfinished tasks, now including the running one.
                    try await connection.query("SELECT agentpool_end_unfinished(ARRAY[$1::uuid], 'cancelled', NULL)", [agentID])
                    return start
                }
                guard case .started(let record) = started else {
                    Issue.record("the start answered \(started)")
                    return
                }
                #expect(record.attempt == 1 && record.owner == processID)
            }
            #expect(try await f.tasks.fetch(taskID: task.taskID)?.status == .cancelled)
            let late = try await f.tasks.finishAttempt(taskID: task.taskID, attempt: 1, processID: processID, result: .succeeded(.number(1)))
            #expect(late == nil, "the started attempt's answer came after the cancel")
            #expect(try await f.eventKinds(task.taskID) == [.queued, .started, .cancelled])
        }
    }

    @Test("a termination that has locked the tasks: the start waits for it and then finds nothing to start")
    func terminationAheadOfTheStart() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let task = try await f.accepted(agentID)
            try await TestDatabase.withClient(poolSize: 1) { terminator in
                let holding = AsyncStream.makeStream(of: Void.self)
                let release = Fixture.Flag()
                let termination = Task {
                    try await terminator.withTransaction { connection in
                        try await connection.query("SELECT id FROM agentpool_stop_agents(ARRAY[$1::uuid])", [agentID])
                        holding.continuation.yield()
                        while !release.isSet { try await connection.query("SELECT pg_sleep(0.01)") }
                    }
                }
                defer { release.set() }
                for await _ in holding.stream { break }
                let answered = Fixture.Flag()
                let store = f.tasks
                let start = Task {
                    defer { answered.set() }
                    return try await store.startAttempt(taskID: task.taskID, processID: processID)
                }
                try await Task.sleep(for: .milliseconds(300))
                #expect(!answered.isSet, "the start did not wait for the task the termination holds")
                let released = ContinuousClock.now
                release.set()
                try await termination.value
                let outcome = try await start.value
                print("the start answered \(ContinuousClock.now - released) after the termination committed")
                #expect(outcome == .notStartable)
            }
            #expect(try await f.tasks.fetch(taskID: task.taskID)?.status == .cancelled)
            #expect(try await f.eventKinds(task.taskID) == [.queued, .cancelled])
        }
    }
}
