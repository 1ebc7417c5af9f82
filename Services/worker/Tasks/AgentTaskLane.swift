import AgentRuntime
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Metrics
import PoolCore
import PoolProtocol
import Registry
import TaskStore

/// The tasks of one hosted agent, and the only place that runs them: it starts each attempt in
/// PostgreSQL before the agent's code sees it, hands it to the runtime, records the one outcome
/// (conditional on the attempt and this worker), and acknowledges the stream entry only after
/// that commit. Everything it hears (stream deliveries, sweeps of PostgreSQL, the code's
/// answers, timers, cancels) goes through one ordered event stream that `run()` handles one
/// at a time, so no state changes across an `await` from two places.
actor AgentTaskLane {
    let agentID: String
    private let pool: String
    private let processID: String
    private let runtime: any AgentRuntime
    private let store: TaskStore
    private let queue: TaskQueue
    private let metrics: TaskMetrics
    private let logger: Logger
    /// Called once when the agent's code cannot run any more (it crash-loops).
    private let onFailure: @Sendable (String) async -> Void

    private var schedule: TaskLaneSchedule
    private var attempts: [String: RunningAttempt] = [:]
    /// Stream entries per task, acknowledged once the task's outcome is committed.
    private var entries: [String: [String]] = [:]
    /// False between the code's exit and its restart: nothing is handed to it meanwhile.
    private var runtimeReady = true
    /// The one pending wake-up (a backoff's end, or a retry after a failed write).
    private var wakeUp: Task<Void, Never>?
    private var wakeUpAt: Date?

    private let events: AsyncStream<TaskLaneEvent>
    private let intake: AsyncStream<TaskLaneEvent>.Continuation

    init(
        agent: AgentSpec, processID: String, runtime: any AgentRuntime, concurrency: Int, store: TaskStore,
        queue: TaskQueue, metrics: TaskMetrics, logger: Logger, onFailure: @escaping @Sendable (String) async -> Void
    ) {
        agentID = agent.agentID
        pool = agent.poolName
        self.processID = processID
        self.runtime = runtime
        self.store = store
        self.queue = queue
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "agent_id"] = "\(agent.agentID)"
        self.logger = logger
        self.onFailure = onFailure
        schedule = TaskLaneSchedule(concurrency: concurrency)
        (events, intake) = AsyncStream.makeStream(of: TaskLaneEvent.self)
    }

    // MARK: Intake (from any task; only enqueues)

    nonisolated func deliver(_ deliveries: [TaskDelivery]) { intake.yield(.delivered(deliveries)) }
    nonisolated func swept(_ records: [TaskRecord]) { intake.yield(.swept(records)) }
    nonisolated func cancel(taskID: String) { intake.yield(.cancel(taskID: taskID)) }
    nonisolated func stop(_ how: TaskLaneStop) { intake.yield(.stop(how)) }

    // MARK: The loop

    /// Runs the lane until it is stopped (`stop`) or the agent's code gives up. First settles
    /// what a previous host left running and takes over its undelivered entries.
    func run() async {
        let forwarding = Task { [runtime, intake] in
            for await event in runtime.events { intake.yield(.runtime(event)) }
        }
        defer {
            forwarding.cancel()
            wakeUp?.cancel()
            for attempt in attempts.values { attempt.deadline.cancel() }
        }
        await takeOverFromPreviousHost()
        var iterator = events.makeAsyncIterator()
        while let event = await iterator.next(isolation: self) {
            if case .stop(let how) = event {
                await finish(how, events: &iterator)
                return
            }
            if await handle(event) == .agentFailed { return }
            await startWhatCan()
        }
    }

    private enum Continuation { case goOn, agentFailed }

    private func handle(_ event: TaskLaneEvent) async -> Continuation {
        switch event {
        case .delivered(let deliveries): await delivered(deliveries)
        case .swept(let records): await refreshed(records)
        case .runtime(let event): return await heard(event)
        case .timedOut(let taskID, let attempt): await timedOut(taskID: taskID, attempt: attempt)
        case .wake: wakeUpAt = nil
        case .cancel(let taskID): await passCancel(taskID: taskID)
        case .stop: break
        }
        return .goOn
    }

    // MARK: What the stream and PostgreSQL say

    /// Attempts a previous host of this agent left running end as lost (retried), its
    /// delivered entries move to this worker, and PostgreSQL is read for the rest.
    private func takeOverFromPreviousHost() async {
        do {
            for record in try await store.settleLostAttempts(agentID: agentID, hostProcessID: processID) {
                await announce(record)
            }
            let taken = try await queue.takeOver(agentID: agentID, consumer: processID)
            for delivery in taken { entries[delivery.taskID, default: []].append(delivery.entryID) }
        } catch {
            logger.warning("Could not settle the previous host's attempts yet; the next sweep does", metadata: ["error": "\(error)"])
        }
        await refresh()
    }

    private func delivered(_ deliveries: [TaskDelivery]) async {
        var refresh = false
        for delivery in deliveries where delivery.agentID == agentID {
            entries[delivery.taskID, default: []].append(delivery.entryID)
            if schedule.delivered(taskID: delivery.taskID, seq: delivery.seq) == .needsRefresh { refresh = true }
        }
        if refresh { await self.refresh() }
    }

    /// Reads the agent's unfinished tasks from PostgreSQL.
    private func refresh() async {
        do {
            await refreshed(try await store.unfinished(agentIDs: [agentID]))
        } catch {
            logger.warning("Could not read the agent's tasks; retrying", metadata: ["error": "\(error)"])
            schedule.invalidate()
            wake(at: Date() + 1)
        }
    }

    /// Makes the lane match PostgreSQL's list of the agent's unfinished tasks.
    private func refreshed(_ records: [TaskRecord]) async {
        let mine = records.filter { $0.agentID == agentID }
        var queued: [(taskID: String, seq: Int, notBefore: Date?)] = []
        var lostElsewhere = false
        for record in mine {
            switch record.status {
            case .queued where attempts[record.taskID] == nil:
                queued.append((record.taskID, record.seq, record.notBefore))
            case .running where record.owner != processID:
                lostElsewhere = true
            case .running where record.cancelRequested && attempts[record.taskID]?.cancelRequested == false:
                await passCancel(taskID: record.taskID)
            case .running where attempts[record.taskID] == nil:
                // Recorded as running here, but not running: this lane lost track of it
                // (the code was restarted between the write and the hand-over).
                await conclude(record.taskID, attempt: record.attempt, .failed(.workerLost("agent exited")))
            default:
                break
            }
        }
        let highest = mine.map(\.seq).max() ?? 0
        schedule.refreshed(queued: queued, highestSeq: highest)
        // Entries of tasks that are no longer unfinished: final, nothing left to do (a task
        // delivered after the read is still queued here, and keeps its entry).
        let unfinished = Set(mine.map(\.taskID))
        for (taskID, _) in entries where !unfinished.contains(taskID) && attempts[taskID] == nil && !schedule.isQueued(taskID) {
            await acknowledge(taskID)
        }
        if lostElsewhere {
            do {
                for record in try await store.settleLostAttempts(agentID: agentID, hostProcessID: processID) {
                    await announce(record)
                }
                schedule.invalidate()
                wake(at: Date())
            } catch {
                logger.warning("Could not settle a previous host's attempts", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: Starting attempts

    /// Starts every task the schedule allows now, in order.
    private func startWhatCan() async {
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
    private func startAttempt(_ taskID: String) async -> Bool {
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
                try? await Task.sleep(for: .seconds(max(record.timeout, 0.001)))
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

    private func heard(_ event: RuntimeEvent) async -> Continuation {
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
    private func answered(_ taskID: String, _ result: AttemptResult) async {
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
    private func checkpoint(_ state: JSONValue) async {
        var delay = Duration.milliseconds(100)
        for _ in 0..<5 {
            do {
                if !(try await store.saveState(agentID: agentID, processID: processID, state: state)) {
                    logger.warning("Checkpoint not saved: the agent's row no longer names this worker")
                }
                return
            } catch {
                logger.warning("Could not save the agent's checkpoint; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay *= 2
            }
        }
    }

    // MARK: Ending attempts

    /// Records how the attempt ended and acts on the task's new status.
    private func conclude(_ taskID: String, attempt: Int, _ result: AttemptResult) async {
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
    private func timedOut(taskID: String, attempt number: Int) async {
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
    private func release(_ taskID: String) {
        guard let attempt = attempts.removeValue(forKey: taskID) else { return }
        attempt.deadline.cancel()
        schedule.ended(taskID: taskID, requeued: attempt.requeue.map { ($0.seq, $0.notBefore) })
    }

    private func passCancel(taskID: String) async {
        guard var attempt = attempts[taskID], !attempt.cancelRequested, !attempt.settled else { return }
        attempt.cancelRequested = true
        attempts[taskID] = attempt
        await runtime.cancel(taskID: taskID)
    }

    /// After a recorded change of the task: wake-up for waiters, metrics, and the stream entry
    /// acknowledged when the task is final.
    private func ended(_ record: TaskRecord) async {
        await announce(record)
        if record.status.isFinal {
            metrics.finished(record)
            await acknowledge(record.taskID)
        } else if record.status == .queued {
            metrics.retries.increment()
        }
    }

    private func announce(_ record: TaskRecord) async {
        await publish(TaskUpdated(agentID: record.agentID, taskID: record.taskID, status: record.status, eventID: record.lastEventID))
    }

    private func publish(_ update: TaskUpdated) async {
        do {
            try await queue.publishUpdate(update, pool: pool)
        } catch {
            // Waiters poll PostgreSQL too; this only makes them quicker.
            logger.debug("Could not publish a task update", metadata: ["error": "\(error)"])
        }
    }

    private func acknowledge(_ taskID: String) async {
        guard let ids = entries.removeValue(forKey: taskID), !ids.isEmpty else { return }
        do {
            try await queue.acknowledge(agentID: agentID, entryIDs: ids)
        } catch {
            // Left pending: a later host takes it over and finds the task final.
            logger.debug("Could not acknowledge a task entry", metadata: ["task_id": "\(taskID)", "error": "\(error)"])
        }
    }

    private func wake(at date: Date) {
        if let wakeUpAt, wakeUpAt <= date { return }
        wakeUp?.cancel()
        wakeUpAt = date
        let delay = max(date.timeIntervalSinceNow, 0.02)
        wakeUp = Task { [intake] in
            try? await Task.sleep(for: .seconds(delay))
            if !Task.isCancelled { intake.yield(.wake) }
        }
    }

    // MARK: Ending the lane

    private func finish(_ how: TaskLaneStop, events: inout AsyncStream<TaskLaneEvent>.Iterator) async {
        switch how {
        case .terminate, .abandon:
            await runtime.stop()
        case .handOver(let grace):
            await drain(grace: grace, events: &events)
            await runtime.stop()
        }
        intake.finish()
    }

    /// Lets attempts in flight finish for up to `grace`, then hands back the rest.
    private func drain(grace: Duration, events iterator: inout AsyncStream<TaskLaneEvent>.Iterator) async {
        let end = ContinuousClock.now + grace
        let timer = Task { [intake] in
            try? await Task.sleep(until: end)
            intake.yield(.wake)
        }
        defer { timer.cancel() }
        runtimeReady = false  // nothing new starts
        while attempts.values.contains(where: { !$0.settled }), ContinuousClock.now < end, let event = await iterator.next(isolation: self) {
            switch event {
            case .runtime, .timedOut, .cancel: _ = await handle(event)
            default: break
            }
        }
        for (taskID, attempt) in attempts where !attempt.settled {
            attempt.deadline.cancel()
            do {
                if try await store.handBack(taskID: taskID, attempt: attempt.attempt, processID: processID),
                   let record = try await store.fetch(taskID: taskID)
                {
                    await announce(record)
                }
            } catch {
                logger.warning("Could not hand a task back; the agent's next host settles it", metadata: ["task_id": "\(taskID)", "error": "\(error)"])
            }
        }
        attempts.removeAll()
        if !entries.isEmpty { logger.info("Handed the agent's tasks back", metadata: ["entries": "\(entries.count)"]) }
    }
}
