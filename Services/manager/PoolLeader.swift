import AgentStore
import CoreMetrics
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PoolConfig
import PoolCore
import PoolProtocol
import Registry
import ServiceSupport

/// The thin driver of a pool's leadership: it owns one ordered stream of `LeaderEvent`s
/// (messages from the requests and events channels, the reconcile tick, child-process events,
/// Redis coming back, and the replies of its own I/O), feeds each to a `LeaderStateMachine`
/// and performs the actions the machine returns, one at a time, each with the existing fenced
/// registry, store or launcher call. Every action that has a reply gets exactly one, fed back
/// as a new event (a failure becomes the reply's `.failed`); a fenced refusal becomes
/// `.leadershipLost`.
///
/// Why this shape: the previous leader was an actor whose fields changed across awaits from
/// three tasks, so a decision could act on state another task had changed meanwhile. Here the
/// machine decides without awaiting, and only `run()` (one task) touches it.
actor PoolLeader {
    let definition: PoolDefinition
    let limits: PoolLimits
    let epoch: Int
    let registry: PoolRegistry
    let store: AgentStore
    let launcher: ChildWorkerLauncher?
    let metrics: PoolMetrics
    let logger: Logger
    /// What the registry's fenced scripts check: this manager's lease token and epoch.
    let fence: LeaderFence
    /// What the database's fenced writes check: the pool and this leadership's epoch.
    let epochFence: LeadershipEpoch

    /// The decisions; mutated only by `run()`.
    var machine: LeaderStateMachine
    /// What the driver's own snapshot repairs remember between passes (`PoolLeader+Snapshot`).
    var repairs: RepairBook
    /// Replies (and what the driver learnt performing an action) to feed in before the next
    /// event of the stream.
    var replies: [LeaderEvent] = []

    nonisolated let events: AsyncStream<LeaderEvent>
    nonisolated let intake: AsyncStream<LeaderEvent>.Continuation

    /// How long after leading (or Redis coming back) no worker is launched, at most: workers
    /// re-register within a heartbeat or two, and a cold start should not wait a minute.
    static let registrationWindowBound: Duration = .seconds(5)

    init(
        definition: PoolDefinition, fence: LeaderFence, registry: PoolRegistry, store: AgentStore,
        launcher: ChildWorkerLauncher?, logger: Logger
    ) {
        let limits = PoolLimits(definition)
        self.definition = definition
        self.limits = limits
        self.epoch = fence.epoch
        self.fence = fence
        self.epochFence = LeadershipEpoch(pool: definition.name, epoch: fence.epoch)
        self.registry = registry
        self.store = store
        self.launcher = launcher
        self.metrics = PoolMetrics(pool: definition.name)
        var logger = logger
        logger[metadataKey: "epoch"] = "\(fence.epoch)"
        self.logger = logger
        var tuning = LeaderTuning(launcher: launcher == nil ? .external : .process)
        tuning.registrationWindowBound = Self.registrationWindowBound
        self.machine = LeaderStateMachine(epoch: fence.epoch, limits: limits, tuning: tuning, now: .now)
        self.repairs = RepairBook(graceUntil: .now + limits.staleAfter)
        (events, intake) = AsyncStream.makeStream(of: LeaderEvent.self)
    }

    // MARK: Intake (any task; only enqueues)

    /// Enqueues one message from the requests or events channel.
    nonisolated func handle(_ message: PoolMessage) {
        switch message {
        case .placeAgent(let request): intake.yield(.placeRequested(request.agent))
        case .terminateAgent(let request): intake.yield(.terminateRequested(agentID: request.agentID))
        case .workerRegistered(let event): intake.yield(.workerRegistered(processID: event.processID))
        case .workerStopping(let event): intake.yield(.workerStopping(processID: event.processID))
        case .agentStarted(let event): intake.yield(.agentStarted(agentID: event.agentID, processID: event.processID))
        case .agentStopped(let event): intake.yield(.agentStopped(agentID: event.agentID, processID: event.processID))
        case .agentFailed(let event):
            // The leader's own refusals carry no process id: not news to the machine.
            if let processID = event.processID { intake.yield(.agentFailed(agentID: event.agentID, processID: processID)) }
        case .startAgent, .stopAgent, .retireWorker, .cancelTask, .taskUpdated:
            break
        }
    }

    /// The subscription to the pool's channels is (again) in place. After a loss, messages
    /// may have been missed and heartbeats delayed.
    nonisolated func subscribed(afterLoss: Bool) {
        if afterLoss { intake.yield(.redisRecovered) }
    }

    /// Enqueues what happened to a worker this manager launched.
    nonisolated func handle(_ event: ChildWorkerLauncher.Event) {
        switch event {
        case .exited(let processID, _, let registered): intake.yield(.childExited(processID: processID, registered: registered))
        case .registrationTimedOut(let processID): intake.yield(.registrationTimedOut(processID: processID))
        }
    }

    /// Enqueues the reconcile timer's tick.
    nonisolated func tick() { intake.yield(.tick) }

    /// The leadership ended (lost lease, shutdown): the loop ends.
    nonisolated func end() { intake.finish() }

    // MARK: The loop

    /// Feeds every event to the machine and performs what it decides, until it steps down
    /// (a fenced refusal), the stream ends or the task is cancelled. The actions of one event
    /// are performed in order, and their replies are fed in before the next event of the
    /// stream: a reply must reach the machine before anything its I/O caused (a launched
    /// worker that exits at once reports its exit while the launch is still being answered).
    func run() async {
        var iterator = events.makeAsyncIterator()
        replies = [.leadershipStarted]
        while true {
            let event: LeaderEvent
            if replies.isEmpty {
                guard let next = await iterator.next() else { return }
                event = next
            } else {
                event = replies.removeFirst()
            }
            for action in await decide(event) {
                guard !Task.isCancelled, machine.isLeading else { return }
                if let reply = await perform(action) { replies.append(reply) }
            }
            guard machine.isLeading, !Task.isCancelled else { return }
        }
    }

    /// Hands one event to the machine, after what the driver owes an event beside it.
    private func decide(_ event: LeaderEvent) async -> [LeaderAction] {
        switch event {
        case .workerRegistered(let processID):
            logger.info("Worker joined", metadata: ["process_id": "\(processID)"])
            await launcher?.registered(processID)
        case .workerStopping(let processID):
            logger.info("Worker leaving; placing its agents again", metadata: ["process_id": "\(processID)"])
        case .redisRecovered:
            repairs.graceUntil = max(repairs.graceUntil, .now + limits.staleAfter)
            logger.info("Declaring no worker dead for stale_after", metadata: ["why": "the Redis subscription was re-established"])
        case .childExited(_, registered: false), .registrationTimedOut:
            metrics.launchFailures.increment()
        default:
            break
        }
        return machine.handle(event, at: .now)
    }
}
