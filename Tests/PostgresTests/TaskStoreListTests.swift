import AgentStore
import Foundation
import Postgres
import PoolProtocol
import TaskStore
import Testing

/// Reading tasks back: the listing's filters, order and pages, events after an id, the
/// unfinished tasks of agents, retention and the metrics' counts.
@Suite struct TaskStoreListTests {
    typealias Fixture = TaskStoreFixture

    @Test("the listing is newest first, filtered, and paged by `before` without gaps or repeats")
    func listingPages() async throws {
        try await Fixture.with { f in
            let (first, processID) = try await f.runningAgent()
            let (second, _) = try await f.runningAgent()
            var created: [TaskRecord] = []
            for n in 0..<7 { created.append(try await f.accepted(n % 2 == 0 ? first : second, .number(Double(n)))) }
            _ = try await f.tasks.startAttempt(taskID: created[0].taskID, processID: processID)
            let newestFirst = created.reversed().map(\.taskID)

            let all = try await timed("list all") { try await f.tasks.list(TaskFilter(pool: f.pool)) }
            #expect(all.map(\.taskID) == newestFirst)
            var paged: [String] = []
            var before: String?
            repeat {
                let page = try await f.tasks.list(TaskFilter(pool: f.pool, limit: 3, before: before))
                #expect(page.count <= 3)
                paged += page.map(\.taskID)
                before = page.count == 3 ? page.last?.taskID : nil
            } while before != nil
            #expect(paged == newestFirst)

            #expect(try await f.tasks.list(TaskFilter(agentID: second)).map(\.taskID) == newestFirst.filter { id in
                created.first { $0.taskID == id }?.agentID == second
            })
            #expect(try await f.tasks.list(TaskFilter(pool: f.pool, status: .running)).map(\.taskID) == [created[0].taskID])
            #expect(try await f.tasks.list(TaskFilter(agentID: first, pool: f.pool, status: .queued)).count == 3)
            #expect(try await f.tasks.list(TaskFilter(pool: f.pool + "_none")).isEmpty)
            #expect(try await f.tasks.list(TaskFilter(agentID: "not-a-uuid")).isEmpty)
            #expect(try await f.tasks.list(TaskFilter(pool: f.pool, before: Identifier.make())).isEmpty)
            #expect(try await f.tasks.list(TaskFilter(pool: f.pool, before: "junk")).isEmpty)
            // Limits outside 1...1000 are clamped, never an error.
            #expect(try await f.tasks.list(TaskFilter(pool: f.pool, limit: 0)).count == 1)
            #expect(try await f.tasks.list(TaskFilter(pool: f.pool, limit: 5000)).count == 7)
        }
    }

    @Test("events after an id, in order, with strictly growing ids across an attempt's life")
    func eventsAfter() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let task = try await f.running(agentID, processID)
            for n in 1...3 {
                _ = try await f.tasks.recordProgress(taskID: task.taskID, attempt: 1, processID: processID, data: .number(Double(n)))
            }
            _ = try await f.tasks.finishAttempt(taskID: task.taskID, attempt: 1, processID: processID, result: .succeeded(.string("done")))
            #expect(try await f.eventKinds(task.taskID) == [.queued, .started, .progress, .progress, .progress, .succeeded])
            let tail = try await f.tasks.events(taskID: task.taskID, after: 4)
            #expect(tail.map(\.id) == [5, 6])
            #expect(tail[0].data == ["attempt": .number(1), "data": .number(3)])
            #expect(tail[1].data == ["attempt": .number(1)] && tail[1].kind.isFinal)
            #expect(try await f.tasks.events(taskID: task.taskID, after: 2, limit: 2).map(\.id) == [3, 4])
            #expect(try await f.tasks.events(taskID: task.taskID, after: 6).isEmpty)
        }
    }

    @Test("unfinished tasks of several agents come by agent, then number")
    func unfinishedByAgent() async throws {
        try await Fixture.with { f in
            let (a, processID) = try await f.runningAgent()
            let (b, _) = try await f.runningAgent()
            var tasks: [TaskRecord] = []
            for agent in [a, b, a, b, a] { tasks.append(try await f.accepted(agent)) }
            let done = try await f.running(a, processID)
            _ = try await f.tasks.finishAttempt(taskID: done.taskID, attempt: 1, processID: processID, result: .succeeded(.null))
            _ = try await f.tasks.startAttempt(taskID: tasks[0].taskID, processID: processID)
            let unfinished = try await f.tasks.unfinished(agentIDs: [b, a, "junk"])
            let expected = [a, b].sorted().flatMap { agent in tasks.filter { $0.agentID == agent }.map(\.taskID) }
            #expect(unfinished.map(\.taskID) == expected)
            #expect(unfinished.first { $0.taskID == tasks[0].taskID }?.status == .running)
            #expect(try await f.tasks.unfinished(agentIDs: []).isEmpty)
        }
    }

    @Test("retention removes finished tasks older than it, with their events, up to the limit")
    func purge() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            var old: [String] = []
            for _ in 0..<3 {
                let task = try await f.running(agentID, processID)
                _ = try await f.tasks.finishAttempt(taskID: task.taskID, attempt: 1, processID: processID, result: .succeeded(.null))
                old.append(task.taskID)
            }
            let recent = try await f.running(agentID, processID)
            _ = try await f.tasks.finishAttempt(taskID: recent.taskID, attempt: 1, processID: processID, result: .succeeded(.null))
            let queued = try await f.accepted(agentID)
            try await f.client.query(
                "UPDATE tasks SET finished_at = now() - interval '2 hours', updated_at = now() - interval '2 hours' WHERE task_id = ANY($1::uuid[])",
                ["{" + old.joined(separator: ",") + "}"])
            #expect(try await f.tasks.purgeFinished(pool: f.pool + "_other", retention: .seconds(3600)) == 0)
            #expect(try await f.tasks.purgeFinished(pool: f.pool, retention: .seconds(3600), limit: 2) == 2)
            #expect(try await f.tasks.purgeFinished(pool: f.pool, retention: .seconds(3600)) == 1)
            #expect(try await f.tasks.purgeFinished(pool: f.pool, retention: .seconds(3600)) == 0)
            for id in old {
                #expect(try await f.tasks.fetch(taskID: id) == nil)
                #expect(try await f.tasks.events(taskID: id, after: 0).isEmpty)
            }
            #expect(try await f.tasks.fetch(taskID: recent.taskID)?.status == .succeeded)
            #expect(try await f.tasks.fetch(taskID: queued.taskID)?.status == .queued)
            let orphans = try await f.client.query(
                "SELECT count(*) AS n FROM task_events WHERE task_id = ANY($1::uuid[])", ["{" + old.joined(separator: ",") + "}"])
            #expect(try orphans.rows[0].decode("n", as: Int.self) == 0)
        }
    }

    @Test("counts give the unfinished tasks of each pool by status")
    func counts() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            _ = try await f.accepted(agentID)
            _ = try await f.accepted(agentID)
            let running = try await f.running(agentID, processID)
            #expect(try await f.tasks.counts()[f.pool] == [.queued: 2, .running: 1])
            _ = try await f.tasks.finishAttempt(taskID: running.taskID, attempt: 1, processID: processID, result: .succeeded(.null))
            #expect(try await f.tasks.counts()[f.pool] == [.queued: 2, .running: 0])
            _ = try await f.agents.markStopping(id: agentID)
            #expect(try await f.tasks.counts()[f.pool] == nil)
        }
    }
}
