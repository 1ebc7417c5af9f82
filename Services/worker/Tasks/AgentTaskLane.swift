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
    let pool: String
    let processID: String
    let runtime: any AgentRuntime
    let store: TaskStore
    let queue: TaskQueue
    let metrics: TaskMetrics
    let logger: Logger
    /// Called once when the agent's code cannot run any more (it crash-loops).
    let onFailure: @Sendable (String) async -> Void
    /// False for an agent's first start ever, before any task: no earlier host left attempts
    /// or stream entries, so the lane skips reading them (two statements and a Redis call per
    /// spawn). Tasks accepted from then on arrive through the stream, or the worker's sweep.
    let takesOver: Bool

    var schedule: TaskLaneSchedule
    var attempts: [String: RunningAttempt] = [:]
    /// Stream entries per task, acknowledged once the task's outcome is committed.
    var entries: [String: [String]] = [:]
    /// False between the code's exit and its restart: nothing is handed to it meanwhile.
    var runtimeReady = true
    /// The one pending wake-up (a backoff's end, or a retry after a failed write).
    var wakeUp: Task<Void, Never>?
    var wakeUpAt: Date?

    let events: AsyncStream<TaskLaneEvent>
    let intake: AsyncStream<TaskLaneEvent>.Continuation

    init(
        agent: AgentSpec, processID: String, runtime: any AgentRuntime, concurrency: Int, store: TaskStore,
        queue: TaskQueue, metrics: TaskMetrics, logger: Logger, takesOver: Bool,
        onFailure: @escaping @Sendable (String) async -> Void
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
        self.takesOver = takesOver
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
    /// what a previous host left running and takes over its undelivered entries (unless the
    /// agent never had one: `takesOver`).
    func run() async {
        let forwarding = Task { [runtime, intake] in
            for await event in runtime.events { intake.yield(.runtime(event)) }
        }
        defer {
            forwarding.cancel()
            wakeUp?.cancel()
            for attempt in attempts.values { attempt.deadline.cancel() }
        }
        if takesOver { await takeOverFromPreviousHost() }
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

    enum Continuation { case goOn, agentFailed }

    func handle(_ event: TaskLaneEvent) async -> Continuation {
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
    func takeOverFromPreviousHost() async {
        do {
            try await settleLostAttempts()
            let taken = try await queue.takeOver(agentID: agentID, consumer: processID)
            for delivery in taken { entries[delivery.taskID, default: []].append(delivery.entryID) }
        } catch {
            logger.warning("Could not settle the previous host's attempts yet; the next sweep does", metadata: ["error": "\(error)"])
        }
        await refresh()
    }

    /// Running attempts of this agent that another worker owns end as lost (retried): that
    /// worker left, died or was fenced, since the agent is placed here now.
    func settleLostAttempts() async throws {
        for record in try await store.settleLostAttempts(agentID: agentID, hostProcessID: processID) {
            await announce(record)
        }
    }

    func delivered(_ deliveries: [TaskDelivery]) async {
        var refresh = false
        for delivery in deliveries where delivery.agentID == agentID {
            entries[delivery.taskID, default: []].append(delivery.entryID)
            if schedule.delivered(taskID: delivery.taskID, seq: delivery.seq) == .needsRefresh { refresh = true }
        }
        if refresh { await self.refresh() }
    }

    /// Reads the agent's unfinished tasks from PostgreSQL.
    func refresh() async {
        do {
            await refreshed(try await store.unfinished(agentIDs: [agentID]))
        } catch {
            logger.warning("Could not read the agent's tasks; retrying", metadata: ["error": "\(error)"])
            schedule.invalidate()
            wake(at: Date() + 1)
        }
    }

    /// Makes the lane match PostgreSQL's list of the agent's unfinished tasks.
    func refreshed(_ records: [TaskRecord]) async {
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
                try await settleLostAttempts()
                schedule.invalidate()
                wake(at: Date())
            } catch {
                logger.warning("Could not settle a previous host's attempts", metadata: ["error": "\(error)"])
            }
        }
    }
}
