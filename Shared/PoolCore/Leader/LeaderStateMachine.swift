#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolProtocol

/// The decisions of a pool's leading manager, as a value: events in, actions out.
///
/// `handle(_:at:)` takes one `LeaderEvent` (a message, a timer tick, a child process's exit,
/// or the reply to one of the machine's own actions) with the monotonic time it happened, and
/// returns the `LeaderAction`s to perform. A thin driver owns one ordered stream of events,
/// performs each action with one registry, store or launcher call, and feeds the reply back
/// as a new event. The machine does no I/O and reads no clock.
///
/// Why this shape: the previous leader changed its fields across `await`s from three tasks
/// (receive loop, timer, launcher callbacks), so a placement could read the first waiting
/// agent, await Redis, and remove a different one. Here a transition never awaits, so the
/// state it reads is the state it writes, ordering has one answer (the stream's), and every
/// interleaving of replies, losses and faults can be replayed in a unit test (see
/// `LeaderSimulationTests`).
///
/// The promises it keeps: one reserve in flight per agent; agents wait first come first
/// served when no slot is free, and the launcher is asked for exactly enough workers; only a
/// fresh spawn that no worker ever confirmed may be refused; an agent that ran before waits,
/// pending, until there is capacity; every stop ends terminated; a start never confirmed is
/// placed again; a dead worker's agents are placed again, but no worker is declared dead
/// within `stale_after` of the leadership starting or Redis coming back; every action
/// carries the epoch, and after `stepDown` nothing follows.
public struct LeaderStateMachine: Sendable {
    public let epoch: Int
    public let limits: PoolLimits
    public let tuning: LeaderTuning

    enum Phase: Sendable {
        case notStarted, leading, steppedDown
    }

    var phase = Phase.notStarted
    /// No worker is declared dead by heartbeat age before this.
    var graceUntil: ContinuousClock.Instant?
    /// No worker is launched before this (two heartbeat intervals): every live worker heartbeats,
    /// re-registering if Redis lost its entry, so only then does the registry show them all.
    var registrationWindowUntil: ContinuousClock.Instant?
    /// Counts events, to tell what a snapshot could have seen (see `Reconcile`).
    var eventCount: UInt64 = 0
    var now: ContinuousClock.Instant

    // Placement
    var queue = PlacementQueue()
    /// Agents reserved on a worker whose `agent_started` is awaited.
    var starts: [String: PendingStart] = [:]
    /// Agents whose reserve is in flight but that left the queue, and what a reply that
    /// placed one calls for.
    var abandonedReserves: [String: AbandonedReserve] = [:]
    /// A reserve failed (Redis away): no further reserves until the next tick or pass.
    var placementPaused = false
    /// Agents known to have run (confirmed in this leadership, or by their row).
    var confirmed: Set<String> = []
    /// Agents whose row names a live worker that the registry does not place them on: the
    /// wall time first seen. They are placed once that worker heartbeated since (it stops an
    /// agent the registry does not attribute to it), so that the agent never runs twice.
    var unattributedSince: [String: Date] = [:]
    /// Rows that should run and were not admitted to the queue (restore backlog).
    var backlog = 0

    // Capacity
    var workers: [String: KnownWorker] = [:]
    /// The reserve script found no free slot, and nothing freed one since.
    var slotsExhausted = false
    var launches = LaunchBook()
    var scaleUps = ScaleUpStreak()

    // Healing, termination, retirement
    /// Workers declared dead whose heal has not succeeded yet.
    var healing: [String: Heal] = [:]
    var stops: [String: PendingStop] = [:]
    var retirement = RetirementBook()

    // Reconcile
    /// The event count when the snapshot being read was asked for; nil when none is.
    var snapshotRequestedAt: UInt64?
    /// Another pass was asked for while one was reading.
    var rerunRequested = false
    /// A snapshot was read in this leadership: it knows the pool's workers.
    var hasReadSnapshot = false

    /// What the current transition decided, stamped with the epoch on return.
    var outbox: [LeaderAction.Kind] = []

    enum AbandonedReserve: Sendable, Hashable {
        /// Deleted, or its row no longer runs: if it was placed, stop it.
        case stopIfPlaced
        /// It was confirmed running meanwhile: the reply changes nothing.
        case alreadyRunning
    }

    struct PendingStart: Sendable, Hashable {
        var entry: PlacementQueue.Entry
        var processID: String
        var deadline: ContinuousClock.Instant
    }

    struct Heal: Sendable, Hashable {
        /// Declared dead by heartbeat age (not a process exit).
        var onlyIfStale: Bool
        var inFlight = true
    }

    struct KnownWorker: Sendable, Hashable {
        var isReady: Bool
        /// Free slots as last known (snapshot score, then reserves and stops since).
        var freeSlots: Int
        var startedAt: Date?
        /// The event count when it became known, to keep a worker a snapshot could not see.
        var knownSince: UInt64
    }

    public init(epoch: Int, limits: PoolLimits, tuning: LeaderTuning, now: ContinuousClock.Instant) {
        self.epoch = epoch
        self.limits = limits
        self.tuning = tuning
        self.now = now
    }

    /// Decides what `event`, which happened at `now`, requires.
    public mutating func handle(_ event: LeaderEvent, at now: ContinuousClock.Instant) -> [LeaderAction] {
        guard phase != .steppedDown else { return [] }
        if phase == .notStarted, event != .leadershipStarted, event != .leadershipLost { return [] }
        self.now = max(self.now, now)
        eventCount += 1
        outbox = []
        dispatch(event)
        if phase == .leading { settle() }
        let decided = outbox
        outbox = []
        return decided.map { LeaderAction(epoch: epoch, $0) }
    }

    private mutating func dispatch(_ event: LeaderEvent) {
        switch event {
        case .leadershipStarted: startLeading()
        case .redisRecovered: redisRecovered()
        case .leadershipLost: stepDown()
        case .placeRequested(let spec): placeRequested(spec)
        case .terminateRequested(let agentID): terminateRequested(agentID)
        case .workerRegistered(let processID): workerRegistered(processID)
        case .workerStopping(let processID): workerStopping(processID)
        case .agentStarted(let agentID, let processID): agentStarted(agentID, on: processID)
        case .agentFailed(let agentID, let processID): agentFailed(agentID, on: processID)
        case .agentStopped(let agentID, let processID): agentStopped(agentID, on: processID)
        case .tick: tick()
        case .childExited(let processID, let registered):
            if registered { declareDead(processID, onlyIfStale: false) } else { launchFailed(processID) }
        case .registrationTimedOut(let processID): launchFailed(processID)
        case .reserveFinished(let agentID, let outcome): reserveFinished(agentID, outcome)
        case .snapshotRead(let snapshot): reconcile(snapshot)
        case .snapshotFailed: snapshotFailed()
        case .launchFinished(let outcome): launchFinished(outcome)
        case .healFinished(let processID, let outcome): healFinished(processID, outcome)
        case .retirementBegun(let processID, let accepted): retirementBegun(processID, accepted: accepted)
        case .stopFinished(let agentID, let outcome): stopFinished(agentID, outcome)
        }
    }

    /// After every event: place what can be placed, then launch or refuse for the rest.
    private mutating func settle() {
        pump()
        scaleUpIfNeeded()
        refuseIfHopeless()
    }

    mutating func emit(_ kind: LeaderAction.Kind) { outbox.append(kind) }

    private mutating func tick() {
        placementPaused = false
        expireStarts()
        expireLaunches()
        retryStops()
        requestSnapshot()
    }
}

// MARK: What a driver (metrics, logs) and tests may read

extension LeaderStateMachine {
    /// Whether the machine leads (started, not stepped down).
    public var isLeading: Bool { phase == .leading }
    /// Agents waiting for a slot or with a reserve in flight, first come first served.
    public var placingAgents: [String] { queue.entries.map(\.agentID) }
    /// Agents waiting for a slot (no reserve in flight).
    public var waitingAgents: [String] { queue.entries.filter { !$0.isReserving }.map(\.agentID) }
    /// Agents started on a worker whose confirmation is awaited, with that worker.
    public var unconfirmedStarts: [String: String] { starts.mapValues(\.processID) }
    /// Agents being stopped.
    public var stoppingAgents: Set<String> { Set(stops.keys) }
    /// Live workers as the machine knows them.
    public var knownWorkers: Set<String> { Set(workers.keys) }
    /// Launches asked for that have not registered yet.
    public var launchesInFlight: Int { launches.inFlight }
    /// Rows that should run but were not admitted yet (restore backlog).
    public var restoreBacklog: Int { backlog }
}
