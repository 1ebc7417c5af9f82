#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolProtocol

extension TaskRecord {
    /// The `task_updated` that announces this record, with its ending when it is final.
    public var updateMessage: TaskUpdated {
        TaskUpdated(agentID: agentID, taskID: taskID, status: status, eventID: lastEventID, ending: ending)
    }

    /// What a `task_updated` of this record carries for waiters: nil unless it is final.
    public var ending: TaskEnding? {
        guard status.isFinal, let finishedAt else { return nil }
        return TaskEnding(
            output: output, error: error, attempt: attempt, cancelRequested: cancelRequested,
            startedAt: startedAt, finishedAt: finishedAt, updatedAt: updatedAt)
    }

    /// This task as `update` says it ended, or nil when the update carries no ending for it.
    /// What an outcome leaves alone (input, number, limits, creation) is taken from `self`,
    /// which was read or accepted earlier: those never change once a task is accepted.
    public func ended(by update: TaskUpdated) -> TaskRecord? {
        guard update.taskID == taskID, update.status.isFinal, let ending = update.ending else { return nil }
        var final = self
        final.status = update.status
        final.output = ending.output
        final.error = ending.error
        final.attempt = ending.attempt
        final.cancelRequested = ending.cancelRequested
        final.owner = nil
        final.notBefore = nil
        final.lastEventID = update.eventID
        final.startedAt = ending.startedAt
        final.finishedAt = ending.finishedAt
        final.updatedAt = ending.updatedAt
        return final
    }
}
