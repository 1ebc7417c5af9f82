import Logging
import PoolProtocol
import TaskStore

/// Waits for tasks to change: woken by `task_updated` (through `Mailboxes`, fed by the
/// gateway's one subscriber) and reading PostgreSQL at least every ``pollInterval`` as well,
/// so that a lost wake-up costs at most that much time, never an answer.
struct TaskWatcher: Sendable {
    let store: TaskStore
    let wakeups: Mailboxes<TaskUpdated>
    let pollInterval: Duration
    let logger: Logger

    /// Runs `body` while wake-ups for `taskID` are kept for it: declare interest before the
    /// read the wait starts from, so that no update slips between the two.
    func watching<T>(_ taskID: String, _ body: () async throws -> T) async rethrows -> T {
        wakeups.beginInterest(taskID)
        defer { wakeups.endInterest(taskID) }
        return try await body()
    }

    /// Waits for the next wake-up of `taskID`, at most `limit`; nil when none came.
    func nextWakeup(_ taskID: String, within limit: Duration) async -> TaskUpdated? {
        guard limit > .zero else { return nil }
        return await wakeups.next(for: taskID, within: limit)
    }

    /// Reads `task` again after each wake-up that says it ended (or each poll interval) until
    /// it is final or `deadline` passes, recording each read in `latest`. A wake-up that
    /// carries the task's ending (a worker's outcome) is the final task without a read. A
    /// wake-up for a step on the way (a progress event: status `running`) costs no read, since
    /// the final one follows and a read at least every poll interval still covers a lost one;
    /// the wait reads once more at its deadline when it skipped one. Call within
    /// ``watching(_:_:)``. A read that fails ends the wait with the task as last read: what is
    /// known is answered.
    func awaitFinal(_ task: TaskRecord, until deadline: ContinuousClock.Instant, latest: LatestRead<TaskRecord>) async -> TaskRecord {
        var current = task
        var lastRead = ContinuousClock.now
        var skipped = false
        while !current.status.isFinal {
            let remaining = deadline - .now
            if remaining > .zero {
                let nextRead = lastRead + pollInterval
                let wakeup = await nextWakeup(current.taskID, within: min(remaining, max(nextRead - .now, .milliseconds(1))))
                guard !Task.isCancelled else { break }
                if let wakeup, let final = current.ended(by: wakeup) {
                    current = final
                    latest.record(final)
                    break
                }
                if let wakeup, !wakeup.status.isFinal, ContinuousClock.now < min(deadline, nextRead) {
                    skipped = true
                    continue
                }
            } else if !skipped {
                break
            }
            do {
                // A task removed meanwhile (retention) is answered as last seen.
                guard let fresh = try await store.fetch(taskID: current.taskID) else { break }
                current = fresh
                latest.record(fresh)
                lastRead = .now
                skipped = false
            } catch {
                logger.warning("Stopped waiting for a task: cannot read it", metadata: ["task_id": "\(current.taskID)", "error": "\(error)"])
                break
            }
            if remaining <= .zero { break }
        }
        return current
    }
}
