import AgentRuntime
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import EventLoopExecution
import Logging
import Metrics
import PoolCore
import PoolProtocol
import Registry
import TaskStore

/// A lane's attempts: starting them in order, what the agent's code answers, and their ends.
extension AgentTaskLane {
    // MARK: Starting attempts

    /// Starts every task the schedule allows now, in order.
    func startWhatCan() async {
        guard runtimeReady else { return }
        if schedule.needsRefresh { await refresh() }
        while runtimeReady {
            switch schedule.next(now: Date()) {
            case .idle: return
            case .wait(let until):
                wake(at: until)
                return
            case .start(let taskID):
                guard await startAttempt(taskID) else { return }
            }
        }
    }

    /// Records the attempt's start, then hands it to the code. False when the database could
    /// not be reached (the lane tries again a little later).
    func startAttempt(_ taskID: String) async -> Bool {
        let outcome: AttemptStart
        do {
            outcome = try await store.startAttempt(taskID: taskID, processID: processID)
        } catch {
            logger.warning("Could not start a task's attempt; retrying", metadata: ["task_id": "\(taskID)", "error": "\(error)"])
            wake(at: Date() + 1)
            return false
        }
        switch outcome {
        case .started(let record):
            schedule.started(taskID: taskID)
            let attempt = record.attempt
            let deadline = Task { [intake] in
                try? await Task.sleep(for: .seconds(max(record.timeout, 0.001)), clock: .eventLoop)
                if !Task.isCancelled { intake.yield(.timedOut(taskID: taskID, attempt: attempt)) }
            }
            attempts[taskID] = RunningAttempt(attempt: attempt, deadline: deadline)
            await announce(record)
            await runtime.run(RuntimeTask(taskID: taskID, attempt: attempt, input: record.input))
        case .cancelled(let record):
            schedule.ended(taskID: taskID)
            await ended(record)
        case .notBefore(let date):
            schedule.notBefore(taskID: taskID, date)
        case .notStartable:
            // Final, or someone else's: nothing to run here.
            schedule.ended(taskID: taskID)
            await acknowledge(taskID)
        }
        return true
    }

    // MARK: What the code says

    func heard(_ event: RuntimeEvent) async -> Continuation {
        switch event {
        case .result(let taskID, let output):
            await answered(taskID, .succeeded(output))
        case .error(let taskID, let failure):
            let cancelled = attempts[taskID]?.cancelRequested ?? false
            await answered(taskID, cancelled ? .cancelled : .failed(failure))
        case .progress(let taskID, let data):
            guard let attempt = attempts[taskID], !attempt.settled else { return .goOn }
            do {
                if let eventID = try await store.recordProgress(
                    taskID: taskID, attempt: attempt.attempt, processID: processID, data: data)
                {
                    await publish(TaskUpdated(agentID: agentID, taskID: taskID, status: .running, eventID: eventID))
                }
            } catch {
                logger.warning("Could not record progress", metadata: ["task_id": "\(taskID)", "error": "\(error)"])
            }
        case .state(let state):
            await checkpoint(state)
        case .exited(let reason):
            runtimeReady = false
            metrics.runtimeRestarts.increment()
            logger.warning("Agent's code exited; its tasks in flight are retried", metadata: ["reason": "\(reason)"])
            for (taskID, attempt) in attempts {
                if attempt.settled {
                    release(taskID)
                } else {
                    await conclude(taskID, attempt: attempt.attempt, .failed(TaskFailure(message: "agent exited: \(reason)", retryable: true)))
                }
            }
        case .restarted:
            runtimeReady = true
            logger.info("Agent's code restarted")
        case .failed(let reason):
            logger.error("Agent's code cannot run; the agent fails", metadata: ["reason": "\(reason)"])
            for attempt in attempts.values { attempt.deadline.cancel() }
            attempts.removeAll()
            await onFailure(reason)
            return .agentFailed
        }
        return .goOn
    }

    /// The code answered `taskID`.
    func answered(_ taskID: String, _ result: AttemptResult) async {
        guard let attempt = attempts[taskID] else {
            logger.debug("Dropped an answer for a task not running here", metadata: ["task_id": "\(taskID)"])
            return
        }
        if attempt.settled {
            // A late answer to an attempt already recorded (it timed out): only frees the slot.
            release(taskID)
            return
        }
        await conclude(taskID, attempt: attempt.attempt, result)
    }

    /// Saves a checkpoint before anything the code says after it is recorded. A failure is
    /// retried a few times: an outcome after it must not be committed while the state it
    /// depends on is not.
    func checkpoint(_ state: JSONValue) async {
        var delay = Duration.milliseconds(100)
        for _ in 0..<5 {
            do {
                if !(try await store.saveState(agentID: agentID, processID: processID, state: state)) {
                    logger.warning("Checkpoint not saved: the agent's row no longer names this worker")
                }
                return
            } catch {
                logger.warning("Could not save the agent's checkpoint; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay, clock: .eventLoop)
                delay *= 2
            }
        }
    }

    // MARK: Ending attempts

    /// Records how the attempt ended and acts on the task's new status.
    func conclude(_ taskID: String, attempt: Int, _ result: AttemptResult) async {
        attempts[taskID]?.deadline.cancel()
        let record: TaskRecord?
        do {
            record = try await store.finishAttempt(taskID: taskID, attempt: attempt, processID: processID, result: result)
        } catch {
            // Nothing recorded: the attempt is still `running` and owned here in PostgreSQL.
            // The slot is given up; the next sweep finds the row running here without a
            // runtime attempt and settles it as lost (retried), so the task is never stuck.
            logger.warning("Could not record a task's outcome; a sweep settles it", metadata: ["task_id": "\(taskID)", "error": "\(error)"])
            attempts[taskID] = nil
            schedule.ended(taskID: taskID)
            return
        }
        attempts[taskID] = nil
        guard let record else {
            // Someone else settled the attempt first (a cancel that ran out of grace, a leader
            // that found this worker gone): this answer changes nothing.
            schedule.ended(taskID: taskID)
            schedule.invalidate()
            return
        }
        schedule.ended(taskID: taskID, requeued: record.status == .queued ? (record.seq, record.notBefore) : nil)
        await ended(record)
    }

    /// An attempt ran out of time: recorded at once; the code is told to give it up, and the
    /// slot stays taken until it answers (within the cancel grace).
    func timedOut(taskID: String, attempt number: Int) async {
        guard var attempt = attempts[taskID], attempt.attempt == number, !attempt.settled else { return }
        let record: TaskRecord?
        do {
            record = try await store.finishAttempt(taskID: taskID, attempt: number, processID: processID, result: .timedOut)
        } catch {
            logger.warning("Could not record a timeout; a sweep settles it", metadata: ["task_id": "\(taskID)", "error": "\(error)"])
            record = nil
        }
        attempt.settled = true
        if let record, record.status == .queued {
            attempt.requeue = RunningAttempt.Requeue(seq: record.seq, notBefore: record.notBefore)
        }
        attempts[taskID] = attempt
        if let record { await ended(record) }
        await runtime.cancel(taskID: taskID)
    }

    /// Frees the slot of a settled attempt whose answer came (or will never come).
    func release(_ taskID: String) {
        guard let attempt = attempts.removeValue(forKey: taskID) else { return }
        attempt.deadline.cancel()
        schedule.ended(taskID: taskID, requeued: attempt.requeue.map { ($0.seq, $0.notBefore) })
    }

    func passCancel(taskID: String) async {
        guard var attempt = attempts[taskID], !attempt.cancelRequested, !attempt.settled else { return }
        attempt.cancelRequested = true
        attempts[taskID] = attempt
        await runtime.cancel(taskID: taskID)
    }

    /// After a recorded change of the task: wake-up for waiters, metrics, and the stream entry
    /// acknowledged when the task is final.
    func ended(_ record: TaskRecord) async {
        await announce(record)
        if record.status.isFinal {
            metrics.finished(record)
            await acknowledge(record.taskID)
        } else if record.status == .queued {
            metrics.retries.increment()
        }
    }

    /// A final record goes out with its ending, which a gateway's `?wait` answers from.
    func announce(_ record: TaskRecord) async {
        await publish(record.updateMessage)
    }

    func publish(_ update: TaskUpdated) async {
        do {
            try await queue.publishUpdate(update, pool: pool)
        } catch {
            // Waiters poll PostgreSQL too; this only makes them quicker.
            logger.debug("Could not publish a task update", metadata: ["error": "\(error)"])
        }
    }

    func acknowledge(_ taskID: String) async {
        guard let ids = entries.removeValue(forKey: taskID), !ids.isEmpty else { return }
        do {
            try await queue.acknowledge(agentID: agentID, entryIDs: ids)
        } catch {
            // Left pending: a later host takes it over and finds the task final.
            logger.debug("Could not acknowledge a task entry", metadata: ["task_id": "\(taskID)", "error": "\(error)"])
        }
    }

    func wake(at date: Date) {
        if let wakeUpAt, wakeUpAt <= date { return }
        wakeUp?.cancel()
        wakeUpAt = date
        let delay = max(date.timeIntervalSinceNow, 0.02)
        wakeUp = Task { [intake] in
            try? await Task.sleep(for: .seconds(delay), clock: .eventLoop)
            if !Task.isCancelled { intake.yield(.wake) }
        }
    }
}
