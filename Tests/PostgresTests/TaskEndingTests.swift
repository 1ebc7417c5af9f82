import Foundation
import PoolProtocol
import TaskStore
import Testing

/// The ending a final task's `task_updated` carries, applied to the task as it was accepted,
/// is the task as PostgreSQL has it: a gateway answers `?wait` from it without a read.
@Suite struct TaskEndingTests {
    typealias Fixture = TaskStoreFixture

    @Test("every kind of end, applied to the accepted task, shows as the row does")
    func endingsMatchTheRow() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let results: [AttemptResult] = [
                .succeeded(.object(["answer": .number(42), "text": .string("héllo")])),
                .failed(TaskFailure(message: "bad input", retryable: false)),
                .cancelled,
            ]
            for result in results {
                let accepted = try await f.accepted(agentID)
                guard case .started = try await f.tasks.startAttempt(taskID: accepted.taskID, processID: processID) else {
                    Issue.record("the attempt did not start")
                    return
                }
                let final = try #require(try await f.tasks.finishAttempt(
                    taskID: accepted.taskID, attempt: 1, processID: processID, result: result))
                let update = try MessageCodec.decode(MessageCodec.encode(.taskUpdated(final.updateMessage)))
                guard case .taskUpdated(let received) = update else {
                    Issue.record("not a task update: \(update)")
                    return
                }
                let answered = try #require(accepted.ended(by: received), "\(result)")
                let row = try #require(try await f.tasks.fetch(taskID: accepted.taskID))
                #expect(answered.view == row.view, "\(result)")
                #expect(answered.lastEventID == row.lastEventID && answered.cancelRequested == row.cancelRequested)
                #expect(answered.owner == nil && answered.notBefore == nil)
            }

            // A cancel of a queued task, recorded by a gateway, carries its ending too.
            let queued = try await f.accepted(agentID)
            guard case .final(let cancelled) = try await f.tasks.cancel(taskID: queued.taskID) else {
                Issue.record("a queued task's cancel was not final")
                return
            }
            let row = try #require(try await f.tasks.fetch(taskID: queued.taskID))
            #expect(queued.ended(by: cancelled.updateMessage)?.view == row.view)
        }
    }

    @Test("an update without an ending, not final, or of another task ends nothing")
    func onlyAFinalUpdateOfTheSameTaskEnds() async throws {
        try await Fixture.with { f in
            let (agentID, processID) = try await f.runningAgent()
            let accepted = try await f.accepted(agentID)
            #expect(accepted.ending == nil)
            #expect(accepted.updateMessage.ending == nil)
            let running = try await f.running(agentID, processID)
            #expect(running.ending == nil)
            let final = try #require(try await f.tasks.finishAttempt(
                taskID: running.taskID, attempt: 1, processID: processID, result: .succeeded(.number(1))))
            var bare = final.updateMessage
            bare.ending = nil
            #expect(running.ended(by: bare) == nil)
            #expect(accepted.ended(by: final.updateMessage) == nil, "another task's ending")
            #expect(running.ended(by: final.updateMessage)?.status == .succeeded)
        }
    }
}
