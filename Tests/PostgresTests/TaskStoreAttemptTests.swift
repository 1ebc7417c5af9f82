import AgentStore
import Foundation
import Postgres
import PoolProtocol
import TaskStore
import Testing

/// Attempts (contract section 5, Attempts and One outcome): started only on the agent's own
/// worker, ended only by that attempt of that worker, retried with the backoff until
/// `max_attempts`, handed back without counting, and settled when their worker is lost.
@Suite struct TaskStoreAttemptTests {
    typealias Fixture = TaskStoreFixture

    @Test("an attempt starts only on the agent's worker, once, and succeeds with its output")
    func startAndSucceed() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let task = try await f.accepted(agentID)
            #expect(try await f.tasks.startAttempt(taskID: task.taskID, processID: Identifier.make()) == .notStartable)
            #expect(try await f.tasks.startAttempt(taskID: task.taskID, processID: "junk") == .notStartable)
            let start = try await timed("startAttempt") { try await f.tasks.startAttempt(taskID: task.taskID, processID: processID) }
            guard case .started(let started) = start else {
                Issue.record("the attempt did not start: \(start)")
                return
            }
            #expect(started.status == .running && started.attempt == 1 && started.owner == processID && started.startedAt != nil)
            #expect(try await f.tasks.startAttempt(taskID: task.taskID, processID: processID) == .notStartable)
            let output = JSONValue.object(["answer": .number(42), "nul": .string("a\u{0}b")])
            let done = try #require(try await timed("finishAttempt") {
                try await f.tasks.finishAttempt(taskID: task.taskID, attempt: 1, processID: processID, result: .succeeded(output))
            })
            // jsonb cannot hold NUL: it is stored as U+FFFD, and the outcome is recorded.
            #expect(done.status == .succeeded && done.output == .object(["answer": .number(42), "nul": .string("a\u{FFFD}b")]))
            #expect(done.error == nil && done.owner == nil && done.finishedAt != nil && done.attempt == 1)
            #expect(done.view.output == done.output)
            #expect(try await f.eventKinds(task.taskID) == [.queued, .started, .succeeded])
            #expect(try await f.tasks.startAttempt(taskID: task.taskID, processID: processID) == .notStartable)

            // An agent that should no longer run starts nothing.
            let later = try await f.accepted(agentID)
            let (otherAgent, otherProcess) = try await f.runningAgent()
            let foreign = try await f.accepted(otherAgent)
            #expect(try await f.tasks.startAttempt(taskID: foreign.taskID, processID: processID) == .notStartable)
            _ = try await f.agents.markStopping(id: otherAgent)
            #expect(try await f.tasks.startAttempt(taskID: foreign.taskID, processID: otherProcess) == .notStartable)
            #expect(try await f.tasks.fetch(taskID: later.taskID)?.status == .queued)
        }
    }

    @Test("a late answer of an old attempt or of another worker is dropped and changes nothing")
    func lateAnswers() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let task = try await f.running(agentID, processID)
            _ = try await f.tasks.finishAttempt(
                taskID: task.taskID, attempt: 1, processID: processID, result: .failed(TaskFailure(message: "once", retryable: true)))
            try await f.endBackoff(task.taskID)
            guard case .started = try await f.tasks.startAttempt(taskID: task.taskID, processID: processID) else {
                Issue.record("the second attempt did not start")
                return
            }
            let before = try #require(try await f.tasks.fetch(taskID: task.taskID))
            let stranger = Identifier.make()
            for (attempt, owner) in [(1, processID), (3, processID), (2, stranger), (2, "junk"), (Int.max, processID)] {
                for result in [AttemptResult.succeeded(.null), .failed(TaskFailure(message: "x", retryable: false)), .timedOut, .cancelled] {
                    #expect(try await f.tasks.finishAttempt(taskID: task.taskID, attempt: attempt, processID: owner, result: result) == nil)
                }
                #expect(try await f.tasks.recordProgress(taskID: task.taskID, attempt: attempt, processID: owner, data: .null) == nil)
                #expect(try await f.tasks.handBack(taskID: task.taskID, attempt: attempt, processID: owner) == false)
            }
            #expect(try await f.tasks.fetch(taskID: task.taskID) == before)
            let final = try #require(try await f.tasks.finishAttempt(taskID: task.taskID, attempt: 2, processID: processID, result: .succeeded(.number(1))))
            // Once final, nothing changes it again: not even the same attempt's repeated answer.
            #expect(try await f.tasks.finishAttempt(taskID: task.taskID, attempt: 2, processID: processID, result: .failed(TaskFailure(message: "late", retryable: false))) == nil)
            #expect(try await f.tasks.fetch(taskID: task.taskID) == final)
            #expect(try await f.eventKinds(task.taskID) == [.queued, .started, .retrying, .started, .succeeded])
        }
    }

    @Test("a retryable failure goes back to queued with the backoff, keeps its error, and the next attempt waits for it")
    func retryWithBackoff() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let task = try await f.running(agentID, processID, limits: Fixture.limits(maxAttempts: 4))
            let failure = TaskFailure(message: "flaky", retryable: true)
            for attempt in 1...3 {
                let retried = try #require(try await f.tasks.finishAttempt(
                    taskID: task.taskID, attempt: attempt, processID: processID, result: .failed(failure)))
                #expect(retried.status == .queued && retried.owner == nil && retried.error == failure && retried.attempt == attempt)
                let notBefore = try #require(retried.notBefore)
                let backoff = notBefore.timeIntervalSince(retried.updatedAt)
                let expected = Double(RetryBackoff.delay(afterAttempt: attempt).components.seconds)
                print("attempt \(attempt): backoff \(backoff) s, expected \(expected) s")
                #expect(abs(backoff - expected) < 0.001)
                guard case .notBefore(let date) = try await f.tasks.startAttempt(taskID: task.taskID, processID: processID) else {
                    Issue.record("a task in backoff started")
                    return
                }
                #expect(date == notBefore)
                let event = try #require(try await f.tasks.events(taskID: task.taskID, after: 0).last)
                #expect(event.kind == .retrying && event.data["attempt"] == .number(Double(attempt)))
                #expect(event.data["error"] == .object(["message": .string("flaky"), "retryable": .bool(true)]))
                guard case .string(let retryAt)? = event.data["retry_at"], let retryDate = Timestamp.date(retryAt) else {
                    Issue.record("the retrying event has no retry_at timestamp")
                    return
                }
                #expect(abs(retryDate.timeIntervalSince(notBefore)) < 0.002)
                try await f.endBackoff(task.taskID)
                guard case .started(let next) = try await f.tasks.startAttempt(taskID: task.taskID, processID: processID) else {
                    Issue.record("the next attempt did not start after its backoff")
                    return
                }
                #expect(next.attempt == attempt + 1 && next.notBefore == nil && next.error == failure)
            }
            let last = try #require(try await f.tasks.finishAttempt(taskID: task.taskID, attempt: 4, processID: processID, result: .failed(failure)))
            #expect(last.status == .failed && last.error == failure && last.attempt == 4 && last.finishedAt != nil)
            let final = try #require(try await f.tasks.events(taskID: task.taskID, after: 0).last)
            #expect(final.kind == .failed && final.data["attempt"] == .number(4) && final.data["error"] != nil)
        }
    }

    @Test("a timeout retries like a retryable failure, and a last attempt that timed out ends timed_out")
    func timeouts() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let limits = Fixture.limits(maxAttempts: 2, timeout: 2.5)
            let task = try await f.running(agentID, processID, limits: limits)
            let retried = try #require(try await f.tasks.finishAttempt(taskID: task.taskID, attempt: 1, processID: processID, result: .timedOut))
            let expectedError = TaskFailure(message: "timed out after 2.5 s", retryable: true)
            #expect(retried.status == .queued && retried.error == expectedError)
            try await f.endBackoff(task.taskID)
            _ = try await f.tasks.startAttempt(taskID: task.taskID, processID: processID)
            let timedOut = try #require(try await f.tasks.finishAttempt(taskID: task.taskID, attempt: 2, processID: processID, result: .timedOut))
            #expect(timedOut.status == .timedOut && timedOut.error == expectedError && timedOut.attempt == 2)
            #expect(try await f.eventKinds(task.taskID) == [.queued, .started, .retrying, .started, .timedOut])

            // A last attempt that failed (after an earlier timeout) ends failed, not timed_out.
            let mixed = try await f.running(agentID, processID, limits: limits)
            _ = try await f.tasks.finishAttempt(taskID: mixed.taskID, attempt: 1, processID: processID, result: .timedOut)
            try await f.endBackoff(mixed.taskID)
            _ = try await f.tasks.startAttempt(taskID: mixed.taskID, processID: processID)
            let failure = TaskFailure(message: "boom", retryable: true)
            let failed = try #require(try await f.tasks.finishAttempt(taskID: mixed.taskID, attempt: 2, processID: processID, result: .failed(failure)))
            #expect(failed.status == .failed && failed.error == failure)
        }
    }

    @Test("a non-retryable failure ends the task failed at once")
    func nonRetryable() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let task = try await f.running(agentID, processID)
            let failure = TaskFailure(message: "bad input \u{0}", retryable: false)
            let failed = try #require(try await f.tasks.finishAttempt(taskID: task.taskID, attempt: 1, processID: processID, result: .failed(failure)))
            #expect(failed.status == .failed && failed.attempt == 1 && failed.error == TaskFailure(message: "bad input \u{FFFD}", retryable: false))
            #expect(try await f.eventKinds(task.taskID) == [.queued, .started, .failed])
        }
    }

    @Test("progress is recorded only for the running attempt of its worker, with growing ids")
    func progress() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let task = try await f.running(agentID, processID)
            var ids: [Int] = []
            for n in 0..<5 {
                ids.append(try #require(try await f.tasks.recordProgress(
                    taskID: task.taskID, attempt: 1, processID: processID, data: .object(["step": .number(Double(n))]))))
            }
            #expect(ids == [3, 4, 5, 6, 7])
            #expect(try await f.tasks.fetch(taskID: task.taskID)?.lastEventID == 7)
            let queued = try await f.accepted(agentID)
            #expect(try await f.tasks.recordProgress(taskID: queued.taskID, attempt: 0, processID: processID, data: .null) == nil)
            #expect(try await f.tasks.recordProgress(taskID: Identifier.make(), attempt: 1, processID: processID, data: .null) == nil)
        }
    }

    @Test("a handover gives the attempt back without counting it, and the next start takes the same number")
    func handBack() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let task = try await f.running(agentID, processID)
            #expect(try await f.tasks.handBack(taskID: task.taskID, attempt: 1, processID: Identifier.make()) == false)
            #expect(try await f.tasks.handBack(taskID: task.taskID, attempt: 1, processID: processID))
            let back = try #require(try await f.tasks.fetch(taskID: task.taskID))
            #expect(back.status == .queued && back.attempt == 0 && back.owner == nil && back.notBefore == nil && back.startedAt == nil)
            let event = try #require(try await f.tasks.events(taskID: task.taskID, after: 0).last)
            #expect(event.kind == .queued && event.data == ["attempt": .number(0), "reason": .string("handed over")])
            #expect(try await f.tasks.handBack(taskID: task.taskID, attempt: 1, processID: processID) == false)
            // The agent's next worker starts it at once, as attempt 1 again.
            try await f.agents.markUnplaced(id: agentID, processID: processID)
            let next = Identifier.make()
            _ = try await f.agents.markRunning(id: agentID, processID: next)
            guard case .started(let again) = try await f.tasks.startAttempt(taskID: task.taskID, processID: next) else {
                Issue.record("the handed-back task did not start on the next worker")
                return
            }
            #expect(again.attempt == 1 && again.owner == next)
        }
    }

    @Test("an agent's new host settles the attempts of its old worker as lost, by the retry policy")
    func settleOnNewHost() async throws {
        try await Fixture.with { f in
            let (agentID, oldWorker) = try await f.runningAgent()
            let retried = try await f.running(agentID, oldWorker)
            let last = try await f.running(agentID, oldWorker, limits: Fixture.limits(maxAttempts: 1))
            let queued = try await f.accepted(agentID)
            try await f.agents.markUnplaced(id: agentID, processID: oldWorker)
            let newWorker = Identifier.make()
            _ = try await f.agents.markRunning(id: agentID, processID: newWorker)
            #expect(try await f.tasks.settleLostAttempts(agentID: agentID, hostProcessID: oldWorker).isEmpty)
            let settled = try await timed("settle by agent") {
                try await f.tasks.settleLostAttempts(agentID: agentID, hostProcessID: newWorker)
            }
            #expect(Set(settled.map(\.taskID)) == [retried.taskID, last.taskID])
            let lost = TaskFailure.workerLost()
            let again = try #require(try await f.tasks.fetch(taskID: retried.taskID))
            #expect(again.status == .queued && again.error == lost && again.notBefore != nil && again.attempt == 1)
            let ended = try #require(try await f.tasks.fetch(taskID: last.taskID))
            #expect(ended.status == .failed && ended.error == lost)
            #expect(try await f.tasks.fetch(taskID: queued.taskID)?.status == .queued)
            // The old worker's late answer is dropped.
            #expect(try await f.tasks.finishAttempt(taskID: retried.taskID, attempt: 1, processID: oldWorker, result: .succeeded(.null)) == nil)
            #expect(try await f.tasks.settleLostAttempts(agentID: agentID, hostProcessID: newWorker).isEmpty)
        }
    }

    @Test("the leader's sweep settles running attempts without a live owner, sparing the ones just started")
    func settleInPool() async throws {
        try await Fixture.with { f in
            let (liveAgent, liveWorker) = try await f.runningAgent()
            let (deadAgent, deadWorker) = try await f.runningAgent()
            let alive = try await f.running(liveAgent, liveWorker)
            let orphan = try await f.running(deadAgent, deadWorker)
            let recent = try await f.running(deadAgent, deadWorker)
            try await f.client.query(
                "UPDATE tasks SET started_at = now() - interval '1 minute' WHERE task_id = ANY($1::uuid[])",
                ["{\(alive.taskID),\(orphan.taskID)}"])
            let settled = try await timed("settle by pool") {
                try await f.tasks.settleLostAttempts(pool: f.pool, liveProcesses: [liveWorker, "junk"])
            }
            #expect(settled.map(\.taskID) == [orphan.taskID])
            #expect(try await f.tasks.fetch(taskID: orphan.taskID)?.status == .queued)
            #expect(try await f.tasks.fetch(taskID: recent.taskID)?.status == .running)
            #expect(try await f.tasks.fetch(taskID: alive.taskID)?.status == .running)
            let rest = try await f.tasks.settleLostAttempts(pool: f.pool, liveProcesses: [], sparing: .zero)
            #expect(Set(rest.map(\.taskID)) == [alive.taskID, recent.taskID])
        }
    }

    @Test("the state checkpoint: latest wins, only from the agent's worker, and survives re-placement")
    func state() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            #expect(try await f.tasks.loadState(agentID: agentID) == nil)
            #expect(try await f.tasks.saveState(agentID: agentID, processID: processID, state: .object(["v": .number(1)])))
            #expect(try await f.tasks.saveState(agentID: agentID, processID: processID, state: .object(["v": .number(2), "s": .string("\u{0}")])))
            #expect(try await f.tasks.loadState(agentID: agentID) == .object(["v": .number(2), "s": .string("\u{FFFD}")]))
            #expect(try await f.tasks.saveState(agentID: agentID, processID: Identifier.make(), state: .number(3)) == false)
            #expect(try await f.tasks.saveState(agentID: Identifier.make(), processID: processID, state: .number(3)) == false)
            #expect(try await f.tasks.saveState(agentID: agentID, processID: "junk", state: .number(3)) == false)
            try await f.agents.markUnplaced(id: agentID, processID: processID)
            #expect(try await f.tasks.saveState(agentID: agentID, processID: processID, state: .number(4)) == false)
            let next = Identifier.make()
            _ = try await f.agents.markRunning(id: agentID, processID: next)
            #expect(try await f.tasks.loadState(agentID: agentID) == .object(["v": .number(2), "s": .string("\u{FFFD}")]))
            #expect(try await f.tasks.saveState(agentID: agentID, processID: next, state: .array([.null])))
            #expect(try await f.tasks.loadState(agentID: agentID) == .array([.null]))
            // The agent's own row did not change for a checkpoint.
            #expect(try await f.agents.fetch(id: agentID)?.status == .running)
        }
    }
}
