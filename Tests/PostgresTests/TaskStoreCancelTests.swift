import AgentStore
import Foundation
import Postgres
import PoolProtocol
import TaskStore
import Testing

/// Cancels (contract section 5, Cancel and Agents ending): recorded first, queued tasks end at
/// once, running ones when their agent answers or the grace period passes, and an agent's
/// end takes its unfinished tasks with it in the same step.
@Suite struct TaskStoreCancelTests {
    typealias Fixture = TaskStoreFixture

    @Test("a queued task, also one waiting out a backoff, ends cancelled at once")
    func queuedEndsAtOnce() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let queued = try await f.accepted(agentID)
            let outcome = try await timed("cancel queued") { try await f.tasks.cancel(taskID: queued.taskID) }
            guard case .final(let cancelled) = outcome else {
                Issue.record("a queued task did not end at once")
                return
            }
            #expect(cancelled.status == .cancelled && cancelled.cancelRequested && cancelled.finishedAt != nil && cancelled.error == nil)
            #expect(try await f.eventKinds(queued.taskID) == [.queued, .cancelled])
            #expect(try await f.tasks.startAttempt(taskID: queued.taskID, processID: processID) == .notStartable)

            let retried = try await f.running(agentID, processID)
            let failure = TaskFailure(message: "flaky", retryable: true)
            let backoff = try #require(try await f.tasks.finishAttempt(
                taskID: retried.taskID, attempt: 1, processID: processID, result: .failed(failure)))
            #expect(backoff.status == .queued && backoff.notBefore != nil)
            guard case .final(let ended) = try await f.tasks.cancel(taskID: retried.taskID) else {
                Issue.record("a task in backoff did not end at once")
                return
            }
            #expect(ended.status == .cancelled && ended.notBefore == nil && ended.error == nil && ended.attempt == 1)
            #expect(try await f.eventKinds(retried.taskID) == [.queued, .started, .retrying, .cancelled])
        }
    }

    @Test("a running task keeps running with the cancel recorded once; a success still wins, anything else ends it cancelled")
    func runningIsRequested() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let task = try await f.running(agentID, processID)
            guard case .requested(let requested) = try await f.tasks.cancel(taskID: task.taskID) else {
                Issue.record("a running task's cancel was not a request")
                return
            }
            #expect(requested.status == .running && requested.cancelRequested && requested.owner == processID)
            let recordedAt = try await f.client.query(
                "SELECT cancel_requested_at::text AS at FROM tasks WHERE task_id = $1::uuid", [task.taskID]).rows[0]["at"]
            try await Task.sleep(for: .milliseconds(20))
            #expect(try await f.tasks.cancel(taskID: task.taskID) == .requested(requested))
            let recordedAgain = try await f.client.query(
                "SELECT cancel_requested_at::text AS at FROM tasks WHERE task_id = $1::uuid", [task.taskID]).rows[0]["at"]
            #expect(recordedAt != nil && recordedAt == recordedAgain)
            // Progress still counts while the cancel waits for the agent.
            #expect(try await f.tasks.recordProgress(taskID: task.taskID, attempt: 1, processID: processID, data: .null) == 3)
            let won = try #require(try await f.tasks.finishAttempt(
                taskID: task.taskID, attempt: 1, processID: processID, result: .succeeded(.string("work done"))))
            #expect(won.status == .succeeded && won.output == .string("work done"))
            // Cancelling a final task answers it unchanged.
            #expect(try await f.tasks.cancel(taskID: task.taskID) == .final(won))

            for result in [AttemptResult.failed(TaskFailure(message: "stopped", retryable: true)), .timedOut, .cancelled,
                           .failed(TaskFailure(message: "no", retryable: false))] {
                let other = try await f.running(agentID, processID)
                _ = try await f.tasks.cancel(taskID: other.taskID)
                let ended = try #require(try await f.tasks.finishAttempt(taskID: other.taskID, attempt: 1, processID: processID, result: result))
                #expect(ended.status == .cancelled && ended.error == nil && ended.output == nil && ended.owner == nil)
                #expect(try await f.eventKinds(other.taskID) == [.queued, .started, .cancelled])
            }
        }
    }

    @Test("expireCancel ends a task still running after the grace period, and only then")
    func expireAfterGrace() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let task = try await f.running(agentID, processID)
            // Without a recorded cancel nothing expires.
            #expect(try await f.tasks.expireCancel(taskID: task.taskID, grace: .zero)?.status == .running)
            _ = try await f.tasks.cancel(taskID: task.taskID)
            #expect(try await f.tasks.expireCancel(taskID: task.taskID, grace: .seconds(60))?.status == .running)
            try await Task.sleep(for: .milliseconds(100))
            let expired = try #require(try await f.tasks.expireCancel(taskID: task.taskID, grace: .milliseconds(50)))
            #expect(expired.status == .cancelled && expired.owner == nil && expired.finishedAt != nil)
            // The worker's late answer changes nothing.
            #expect(try await f.tasks.finishAttempt(taskID: task.taskID, attempt: 1, processID: processID, result: .succeeded(.null)) == nil)
            #expect(try await f.tasks.expireCancel(taskID: task.taskID, grace: .zero) == expired)
            #expect(try await f.eventKinds(task.taskID) == [.queued, .started, .cancelled])
        }
    }

    @Test("a task delivered again after its cancel was recorded ends cancelled without running")
    func startAfterCancel() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let task = try await f.running(agentID, processID)
            _ = try await f.tasks.cancel(taskID: task.taskID)
            #expect(try await f.tasks.handBack(taskID: task.taskID, attempt: 1, processID: processID))
            guard case .cancelled(let ended) = try await f.tasks.startAttempt(taskID: task.taskID, processID: processID) else {
                Issue.record("the redelivered task was started")
                return
            }
            #expect(ended.status == .cancelled && ended.attempt == 0)
            #expect(try await f.eventKinds(task.taskID) == [.queued, .started, .queued, .cancelled])
        }
    }

    @Test("terminating an agent cancels its queued and running tasks in the same step; late answers change nothing")
    func terminationCancels() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let running = try await f.running(agentID, processID)
            let queued = try await f.accepted(agentID)
            let done = try await f.running(agentID, processID)
            let succeeded = try #require(try await f.tasks.finishAttempt(
                taskID: done.taskID, attempt: 1, processID: processID, result: .succeeded(.null)))
            let stopped = try #require(try await timed("markStopping") { try await f.agents.markStopping(id: agentID) })
            #expect(stopped.status == .stopping && stopped.desiredState == .terminated)
            for id in [running.taskID, queued.taskID] {
                let task = try #require(try await f.tasks.fetch(taskID: id))
                #expect(task.status == .cancelled && task.error == nil && task.finishedAt != nil && task.owner == nil)
                #expect(try await f.eventKinds(id).last == .cancelled)
            }
            #expect(try await f.tasks.fetch(taskID: done.taskID) == succeeded)
            #expect(try await f.tasks.finishAttempt(taskID: running.taskID, attempt: 1, processID: processID, result: .succeeded(.null)) == nil)
            #expect(try await f.tasks.recordProgress(taskID: running.taskID, attempt: 1, processID: processID, data: .null) == nil)
            #expect(try await f.tasks.unfinished(agentIDs: [agentID]).isEmpty)

            // markTerminated (a worker's own stop) also takes the tasks with it.
            let (other, otherProcess) = try await f.runningAgent()
            let left = try await f.running(other, otherProcess)
            #expect(try await f.agents.markTerminated(id: other) != nil)
            #expect(try await f.tasks.fetch(taskID: left.taskID)?.status == .cancelled)
        }
    }

    @Test("an agent that ends failed fails its unfinished tasks in the same step, only from its own worker")
    func agentFailureFailsTasks() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let running = try await f.running(agentID, processID)
            let queued = try await f.accepted(agentID)
            try await f.tasks.markAgentFailed(agentID: agentID, processID: Identifier.make(), reason: "someone else")
            #expect(try await f.agents.fetch(id: agentID)?.status == .running)
            #expect(try await f.tasks.fetch(taskID: queued.taskID)?.status == .queued)
            try await f.tasks.markAgentFailed(agentID: agentID, processID: "junk", reason: "ignored")

            try await timed("markAgentFailed") {
                try await f.tasks.markAgentFailed(agentID: agentID, processID: processID, reason: "child exited 3 times")
            }
            let agent = try #require(try await f.agents.fetch(id: agentID))
            #expect(agent.status == .failed && agent.desiredState == .terminated && agent.processID == nil)
            #expect(agent.failureReason == "child exited 3 times")
            let expected = TaskFailure(message: "agent failed: child exited 3 times", retryable: false)
            for id in [running.taskID, queued.taskID] {
                let task = try #require(try await f.tasks.fetch(taskID: id))
                #expect(task.status == .failed && task.error == expected && task.finishedAt != nil)
                let last = try #require(try await f.tasks.events(taskID: id, after: 0).last)
                #expect(last.kind == .failed && last.data["error"] == .object(["message": .string(expected.message), "retryable": .bool(false)]))
            }
            #expect(try await f.tasks.submit(agentID: agentID, TaskSubmission(input: .null), limits: Fixture.limits()) == .agentNotRunning)
        }
    }

    @Test("the leader's markFailed of an agent being placed again fails the tasks it had")
    func leaderFailureFailsTasks() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let queued = try await f.accepted(agentID)
            try await f.agents.markUnplaced(id: agentID, processID: processID)
            let epoch = try await LeadershipStore(client: f.client).nextEpoch(pool: f.pool)
            try await f.agents.markFailed(id: agentID, reason: "no worker could start it", fence: LeadershipEpoch(pool: f.pool, epoch: epoch))
            #expect(try await f.agents.fetch(id: agentID)?.status == .failed)
            let task = try #require(try await f.tasks.fetch(taskID: queued.taskID))
            #expect(task.status == .failed && task.error == TaskFailure(message: "agent failed: no worker could start it", retryable: false))
            _ = try await f.client.query("DELETE FROM pool_leadership WHERE pool_name = $1", [f.pool])
        }
    }
}
