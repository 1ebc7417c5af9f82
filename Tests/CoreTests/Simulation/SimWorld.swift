#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolCore
import PoolProtocol

/// The model world a simulated leader acts on: PostgreSQL's rows, Redis's registry, worker
/// processes, managers and a network that loses, repeats and reorders. Its rules follow the
/// real scripts and services (`RegistryScripts`, `AgentStore`, `AgentHost`,
/// `WorkerRegistration`), simplified to one atomic step each.
struct SimWorld {
    var random: SimRandom
    let limits: PoolLimits
    let tuning: LeaderTuning
    var faults: SimFaults
    /// Simulated time since the schedule began.
    var clock: Duration = .zero
    let origin: ContinuousClock.Instant
    var log: [String] = []
    var violations: [String] = []

    // PostgreSQL
    var rows: [String: Row] = [:]
    var nextAgent = 0
    // Redis
    var registry: [String: RegisteredWorker] = [:]
    var placements: [String: String] = [:]
    var desiredWorkers = 0
    // Processes, managers, messages
    var processes: [String: Process] = [:]
    /// Process ids in launch order: iterating a dictionary would not replay the same way in
    /// another run (hashing is seeded per process).
    var processOrder: [String] = []
    var nextProcess = 0
    var leaders: [Leader] = []
    var currentEpoch = 0
    var network: [Message] = []
    /// What clients were told and asked, for the invariants.
    var facts: [String: Fact] = [:]
    var leaderChanges = 0
    /// Frozen processes and when they resume.
    var resumeAt: [String: Duration] = [:]

    struct Row {
        var spec: AgentSpec
        var desiredRunning = true
        var status = AgentStatus.pending
        var processID: String?
        var everConfirmed = false
        var created: Int
    }

    struct RegisteredWorker {
        var ready = true
        var agents: Set<String> = []
        /// Agent → reservation deadline.
        var reserved: [String: Duration] = [:]
        var lastHeartbeat: Duration
        var startedAt: Duration
    }

    struct Process {
        var alive = true
        var paused = false
        var hosted: Set<String> = []
        var everRegistered = false
        var epochSeen = 0
        /// The manager that launched it (its child), nil for an orchestrator's worker.
        var manager: Int?
        var inbox: [Command] = []
        var nextHeartbeat: Duration
        /// When it registers (a launch on its way), nil once registered or when it never will.
        var bootsAt: Duration?
        /// Launched by a leader another had replaced, or still booting when leadership changed:
        /// no leader counted it when deciding, so it may exceed `max_workers` until it retires.
        var stray = false
    }

    enum Command { case start(AgentSpec, epoch: Int), stop(String, epoch: Int), retire(epoch: Int) }

    enum Message {
        case toLeaders(LeaderEvent)
        case toWorker(String, Command)
    }

    struct Leader {
        var machine: LeaderStateMachine
        var manager: Int
        var active = true
        var pendingIO: [LeaderAction] = []
        var replies: [LeaderEvent] = []
        /// Reserves this leader has in flight (action or reply not yet handled), per agent.
        var reservesInFlight: Set<String> = []
        var nextTick: Duration
        var loseLeadershipAt: Duration?
    }

    struct Fact {
        var confirmed = false
        var refused = false
        var deleteRequested = false
    }

    init(seed: UInt64, limits: PoolLimits, tuning: LeaderTuning, faults: SimFaults) {
        random = SimRandom(seed: seed)
        self.limits = limits
        self.tuning = tuning
        self.faults = faults
        origin = ContinuousClock.now
    }

    var now: ContinuousClock.Instant { origin + clock }
    var wallNow: Date { wall(clock) }
    func wall(_ time: Duration) -> Date { Date(timeIntervalSince1970: 1_700_000_000 + time.seconds) }

    /// The last leader still acting, if any.
    var currentLeader: Int? {
        var index = leaders.count - 1
        while index >= 0 {
            if leaders[index].active { return index }
            index -= 1
        }
        return nil
    }

    mutating func note(_ line: @autoclosure () -> String) {
        if faults.keepsLog { log.append("t=\(clock.seconds) \(line())") }
    }

    mutating func violate(_ what: String) {
        violations.append("t=\(clock.seconds) \(what)")
        note("VIOLATION \(what)")
    }

    // MARK: Registry rules (RegistryScripts)

    /// Free slots: `max_agents` − hosted − live reservations, 0 unless ready.
    func freeSlots(_ processID: String) -> Int {
        guard let worker = registry[processID], worker.ready else { return 0 }
        return limits.maxAgentsPerProcess - worker.agents.count - worker.reserved.values.count { $0 > clock }
    }

    /// Someone subscribes to the worker's channel (a frozen process still does).
    func isListening(_ processID: String) -> Bool { processes[processID]?.alive == true }

    mutating func dropExpiredReservations(_ processID: String) {
        let now = clock
        guard let reserved = registry[processID]?.reserved else { return }
        registry[processID]?.reserved = reserved.filter { $0.value > now }
    }

    /// `deregister`: the worker and the entries of the agents it hosted.
    mutating func deregister(_ processID: String) {
        guard let worker = registry.removeValue(forKey: processID) else { return }
        for agentID in worker.agents where placements[agentID] == processID { placements.removeValue(forKey: agentID) }
    }

    /// `releaseAgent`.
    mutating func releaseAgent(_ agentID: String, from processID: String) {
        if placements[agentID] == processID || placements[agentID] == nil { placements.removeValue(forKey: agentID) }
        registry[processID]?.agents.remove(agentID)
        registry[processID]?.reserved.removeValue(forKey: agentID)
    }

    // MARK: Store rules (AgentStore)

    mutating func markTerminated(_ agentID: String, by who: String) {
        guard var row = rows[agentID], row.status != .terminated, row.status != .failed else { return }
        if facts[agentID]?.deleteRequested != true { violate("\(who) terminated \(agentID), which nobody deleted") }
        row.desiredRunning = false
        row.status = .terminated
        row.processID = nil
        rows[agentID] = row
    }

    /// `markUnplaced`: only a row that still names the worker and should run.
    mutating func markUnplaced(_ agentID: String, processID: String) {
        guard let row = rows[agentID], row.processID == processID, row.desiredRunning else { return }
        rows[agentID]?.status = .pending
        rows[agentID]?.processID = nil
    }

    // MARK: Messages

    mutating func publish(_ message: Message) {
        if faults.active, random.chance(faults.messageLoss) { return }
        network.append(message)
        if faults.active, random.chance(faults.messageDuplication) { network.append(message) }
    }

    mutating func publishToLeaders(_ event: LeaderEvent) { publish(.toLeaders(event)) }
}

/// How hostile a schedule is. `active` is false in the calm phase that ends every schedule.
struct SimFaults {
    var active = true
    var keepsLog = false
    var messageLoss = 0.05
    var messageDuplication = 0.05
    var ioFailure = 0.05
    /// Per step.
    var workerDeath = 0.004
    var workerPause = 0.004
    var workerSigterm = 0.002
    var leaderChange = 0.003
    var registryWipe = 0.001
    var redisBlip = 0.003
    var spawn = 0.08
    var delete = 0.03
    /// Fresh launches that die before registering, or hang.
    var launchFailure = 0.15
    /// The claim script refuses an agent whose reservation expired on a full worker (the
    /// proposed fix; `false` is today's script).
    var claimChecksCapacity = true
    /// The claim script refuses a start older than the registry's epoch (proposed; `false`
    /// is today's script).
    var claimIsFenced = true
}
