import PoolCore
import PoolProtocol

/// One seeded schedule: a pool with random settings, a chaos phase of random interleavings
/// and faults, then a calm phase (no faults, nothing lost) at whose end every promise must be
/// kept. Safety invariants are checked after every step.
struct LeaderSimulation {
    struct Outcome {
        var seed: UInt64
        var steps = 0
        var violations: [String] = []
        var log: [String] = []
        /// How long the calm phase took to converge.
        var convergedAfter: Duration?
    }

    static let step: Duration = .milliseconds(100)
    /// The bound: after this much calm, every promise is kept.
    static let calmTime: Duration = .seconds(30)
    /// How long a converged pool must stay converged before a schedule ends early.
    static let settleTime: Duration = .seconds(8)

    static func run(seed: UInt64, keepLog: Bool = false, faults: SimFaults = SimFaults()) -> Outcome {
        var setup = SimRandom(seed: seed ^ 0x5EED)
        let maxWorkers = setup.int(1...4)
        let limits = PoolLimits(
            poolName: "sim_pool", role: "sim", maxAgentsPerProcess: setup.int(1...3), minWorkers: setup.int(0...min(1, maxWorkers)),
            maxWorkers: maxWorkers, heartbeatInterval: .seconds(1), staleAfter: .seconds(3), idleTimeout: .seconds(5))
        var tuning = LeaderTuning(launcher: setup.chance(0.5) ? .process : .external)
        tuning.startTimeout = .seconds(4)
        tuning.stopRetryInterval = .seconds(2)
        tuning.launchTimeout = .seconds(5)
        tuning.maxUnconfirmedRestores = setup.int(2...8)
        tuning.waitingLimit = setup.int(3...20)
        var faults = faults
        faults.keepsLog = keepLog
        var world = SimWorld(seed: seed, limits: limits, tuning: tuning, faults: faults)
        world.note("limits slots=\(limits.maxAgentsPerProcess) min=\(limits.minWorkers) max=\(limits.maxWorkers) launcher=\(tuning.launcher)")
        world.populate(using: &setup)
        world.changeLeader()

        var outcome = Outcome(seed: seed)
        let chaosSteps = setup.int(100...250)
        let calmSteps = Int(calmTime / step)
        for index in 0..<(chaosSteps + calmSteps) {
            if index == chaosSteps { world.calmDown() }
            world.clock += step
            world.runDue()
            let happenings = world.faults.active ? world.random.int(1...6) : 60
            for _ in 0..<happenings {
                guard world.happen() else { break }
            }
            if world.faults.active { world.injectFaults() }
            world.checkSafety()
            outcome.steps += 1
            if !world.faults.active, outcome.convergedAfter == nil, index % 10 == 0, world.unkeptPromises().isEmpty {
                outcome.convergedAfter = step * (index - chaosSteps)
            }
            if !world.violations.isEmpty { break }
            // Converged: it must stay so for a while (a retirement, a late reply), then the
            // schedule may end early.
            if let converged = outcome.convergedAfter, step * (index - chaosSteps) >= converged + settleTime { break }
        }
        if world.violations.isEmpty {
            for problem in world.unkeptPromises() { world.violate("after \(calmTime) of calm: \(problem)") }
        }
        outcome.violations = world.violations
        outcome.log = world.log
        return outcome
    }
}

extension SimWorld {
    /// The pool as a restart may find it: rows that ran before and workers still running.
    mutating func populate(using setup: inout SimRandom) {
        for _ in 0..<setup.int(0...4) {
            spawn()
            let agentID = "a\(nextAgent)"
            rows[agentID]?.everConfirmed = true
            facts[agentID]?.confirmed = true
        }
        network.removeAll()
        for _ in 0..<setup.int(0...limits.maxWorkers) {
            let processID = startProcess(manager: nil, stray: false)
            processes[processID]?.bootsAt = nil
            register(processID)
        }
        network.removeAll()
    }

    /// Timers: leader ticks and lost leases, heartbeats, boots, resumes, the orchestrator.
    mutating func runDue() {
        for index in leaders.indices where leaders[index].active {
            if let at = leaders[index].loseLeadershipAt, at <= clock { handle(.leadershipLost, leader: index) }
            if leaders[index].active, leaders[index].nextTick <= clock {
                leaders[index].nextTick = clock + limits.heartbeatInterval
                handle(.tick, leader: index)
            }
        }
        for processID in processOrder {
            guard let process = processes[processID], process.alive else { continue }
            if let resumesAt = resumeAt[processID], resumesAt <= clock {
                resumeAt.removeValue(forKey: processID)
                resume(processID)
            }
            if let bootsAt = process.bootsAt, bootsAt <= clock { boot(processID) }
            if process.nextHeartbeat <= clock { heartbeat(processID) }
        }
        if Int(clock / .milliseconds(100)) % 10 == 0 { orchestrate() }
    }

    /// One thing happens: a message arrives, an action is performed, or a reply comes back,
    /// each picked at random among those pending (which reorders them). False when nothing
    /// is pending.
    mutating func happen() -> Bool {
        var ios = 0, replies = 0
        for index in leaders.indices {
            ios += leaders[index].pendingIO.count
            replies += leaders[index].replies.count
        }
        let total = network.count + ios + replies
        guard total > 0 else { return false }
        var pick = random.index(total)
        if pick < network.count {
            switch network.remove(at: pick) {
            case .toLeaders(let event):
                for index in leaders.indices { handle(event, leader: index) }
            case .toWorker(let processID, let command):
                deliver(command, to: processID)
            }
            return true
        }
        pick -= network.count
        if pick < ios {
            for index in leaders.indices {
                let count = leaders[index].pendingIO.count
                if pick < count {
                    perform(leader: index, io: pick)
                    return true
                }
                pick -= count
            }
        }
        pick -= ios
        for index in leaders.indices {
            let count = leaders[index].replies.count
            if pick < count {
                let reply = leaders[index].replies.remove(at: pick)
                handle(reply, leader: index)
                return true
            }
            pick -= count
        }
        return false
    }

    mutating func injectFaults() {
        if random.chance(faults.spawn) { spawn() }
        if random.chance(faults.delete) { delete() }
        let alive = processOrder.filter { processes[$0]?.alive == true }
        if !alive.isEmpty, random.chance(faults.workerDeath) {
            let victim = alive[random.index(alive.count)]
            note("kill -9 \(victim)")
            exit(victim)
        }
        if !alive.isEmpty, random.chance(faults.workerPause) {
            let victim = alive[random.index(alive.count)]
            if processes[victim]?.paused == false {
                processes[victim]?.paused = true
                resumeAt[victim] = clock + .milliseconds(random.int(500...8000))
                note("pause \(victim)")
            }
        }
        if !alive.isEmpty, random.chance(faults.workerSigterm) { terminateGracefully(alive[random.index(alive.count)]) }
        if random.chance(faults.leaderChange) { changeLeader() }
        if random.chance(faults.registryWipe) {
            note("Redis loses its data")
            registry.removeAll()
            placements.removeAll()
            changeLeader()
        }
        if random.chance(faults.redisBlip), let index = currentLeader {
            note("the leader's Redis connection comes back")
            handle(.redisRecovered, leader: index)
        }
    }

    /// The calm phase: no more faults or losses; frozen workers resume; old leaders learn
    /// they were replaced.
    mutating func calmDown() {
        faults.active = false
        note("calm")
        for processID in resumeAt.keys.sorted() { resume(processID) }
        resumeAt.removeAll()
        for index in leaders.indices.dropLast() where leaders[index].active { handle(.leadershipLost, leader: index) }
    }
}
