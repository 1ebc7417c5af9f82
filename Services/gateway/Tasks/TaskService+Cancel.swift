import Logging
import Registry
import PoolProtocol
import TaskStore

extension TaskService {
    /// Cancels a task and answers it once final, within the grace period plus the margin.
    ///
    /// The store records the cancel first: a queued task ends `cancelled` at once, a final one
    /// is answered unchanged. A running one is sent `cancel_task` on its worker's channel;
    /// when its agent has not ended it by the end of the grace period the gateway ends it
    /// itself (`expireCancel`), so no cancel waits on a worker that hangs or died.
    func cancel(_ taskID: String) async throws -> TaskRecord {
        try await bounded(within: settings.cancelGrace + settings.answerMargin) { latest in
            try await watcher.watching(taskID) {
                switch try await store.cancel(taskID: taskID) {
                case .notFound:
                    throw TaskErrors.taskNotFound(taskID)
                case .final(let task):
                    latest.record(task)
                    await announce(task)
                    return task
                case .requested(let task):
                    latest.record(task)
                    // The grace period counts from the record, which is at the latest now.
                    let graceEnds = ContinuousClock.now + settings.cancelGrace + Self.clockSlack
                    await tellWorker(task)
                    await announce(task)
                    let seen = await watcher.awaitFinal(task, until: graceEnds, latest: latest)
                    if seen.status.isFinal { return seen }
                    return await expire(seen, latest: latest)
                }
            }
        }
    }

    /// Past the grace period a cancel ends the task even while the gateway's clock runs a
    /// little ahead of the database's: the store measures the grace on its own.
    static let clockSlack: Duration = .milliseconds(20)

    private func tellWorker(_ task: TaskRecord) async {
        do {
            if try await !queue.sendCancel(agentID: task.agentID, taskID: task.taskID) {
                logger.info("Cancel of a running task whose agent is placed nowhere; it ends after the grace period",
                            metadata: ["task_id": "\(task.taskID)", "agent_id": "\(task.agentID)"])
            }
        } catch {
            logger.warning("Could not send cancel_task; the task ends after the grace period",
                           metadata: ["task_id": "\(task.taskID)", "error": "\(error)"])
        }
    }

    /// Ends the task `cancelled` if its agent still has not; answers it as it is then.
    private func expire(_ task: TaskRecord, latest: LatestRead<TaskRecord>) async -> TaskRecord {
        do {
            guard let ended = try await store.expireCancel(taskID: task.taskID, grace: settings.cancelGrace) else { return task }
            latest.record(ended)
            if ended.status.isFinal { await announce(ended) }
            return ended
        } catch {
            logger.warning("Could not end a cancelled task after its grace period", metadata: ["task_id": "\(task.taskID)", "error": "\(error)"])
            return task
        }
    }
}
