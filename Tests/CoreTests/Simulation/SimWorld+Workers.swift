import PoolCore
import PoolProtocol

/// Worker processes, as `WorkerRegistration` and `AgentHost` behave.
extension SimWorld {
    /// Starts a worker process; it registers at `bootsAt` unless its launch fails.
    mutating func startProcess(manager: Int?, stray: Bool) -> String {
        nextProcess += 1
        let processID = "p\(nextProcess)"
        let boot = clock + .milliseconds(random.int(100...1500))
        processes[processID] = Process(manager: manager, nextHeartbeat: boot, bootsAt: boot, stray: stray)
        processOrder.append(processID)
        note("process \(processID) launched by manager \(manager.map(String.init) ?? "orchestrator")")
        return processID
    }

    /// A booting process registers, or (a failed launch) exits first or hangs.
    mutating func boot(_ processID: String) {
        processes[processID]?.bootsAt = nil
        if faults.active, random.chance(faults.launchFailure) {
            if random.chance(0.5) {
                note("\(processID) exits before registering")
                exit(processID)
            } else {
                note("\(processID) hangs before registering")
            }
            return
        }
        register(processID)
    }

    mutating func register(_ processID: String) {
        registry[processID] = RegisteredWorker(lastHeartbeat: clock, startedAt: clock)
        processes[processID]?.everRegistered = true
        let next = clock + limits.heartbeatInterval
        processes[processID]?.nextHeartbeat = next
        note("\(processID) registers")
        publishToLeaders(.workerRegistered(processID: processID))
    }

    /// One heartbeat: a registration found gone means declared dead (or Redis lost its data):
    /// stop every agent here first, then register afresh. Otherwise stop any agent the
    /// registry no longer attributes to this worker.
    mutating func heartbeat(_ processID: String) {
        guard let process = processes[processID], process.alive, !process.paused, process.bootsAt == nil,
              process.everRegistered
        else { return }
        let next = clock + limits.heartbeatInterval
        processes[processID]?.nextHeartbeat = next
        guard let worker = registry[processID] else {
            for agentID in process.hosted.sorted() { markUnplaced(agentID, processID: processID) }
            processes[processID]?.hosted = []
            note("\(processID) finds its registration gone: abandons \(process.hosted.count), registers afresh")
            register(processID)
            return
        }
        registry[processID]?.lastHeartbeat = clock
        dropExpiredReservations(processID)
        for agentID in process.hosted.sorted() where !worker.agents.contains(agentID) {
            processes[processID]?.hosted.remove(agentID)
            markUnplaced(agentID, processID: processID)
            note("\(processID) stops unattributed \(agentID)")
        }
    }

    mutating func deliver(_ command: Command, to processID: String) {
        guard let process = processes[processID], process.alive else { return }
        if process.paused {
            processes[processID]?.inbox.append(command)
            return
        }
        let epoch: Int
        switch command {
        case .start(_, let e), .stop(_, let e), .retire(let e): epoch = e
        }
        guard epoch >= process.epochSeen else {
            note("\(processID) ignores a command of epoch \(epoch)")
            return
        }
        processes[processID]?.epochSeen = epoch
        switch command {
        case .start(let spec, let epoch): start(spec, on: processID, epoch: epoch)
        case .stop(let agentID, _): stop(agentID, on: processID)
        case .retire: retire(processID)
        }
    }

    /// `AgentHost.start`: claim (refused when another live worker hosts it, or when the start
    /// comes from an older leadership than the registry's epoch), then record running
    /// (refused when the row should no longer run), then announce.
    mutating func start(_ spec: AgentSpec, on processID: String, epoch: Int) {
        let agentID = spec.agentID
        if processes[processID]?.hosted.contains(agentID) == true {
            publishToLeaders(.agentStarted(agentID: agentID, processID: processID))
            return
        }
        guard let worker = registry[processID] else { return }
        if faults.claimIsFenced, epoch < currentEpoch {
            registry[processID]?.reserved.removeValue(forKey: agentID)
            let registryEpoch = currentEpoch
            note("\(processID) refuses \(agentID): a start of epoch \(epoch), the registry's is \(registryEpoch)")
            return
        }
        if let current = placements[agentID], current != processID, registry[current] != nil {
            registry[processID]?.reserved.removeValue(forKey: agentID)
            note("\(processID) refuses \(agentID): it runs on \(current)")
            return
        }
        let reservedHere = (worker.reserved[agentID] ?? .zero) > clock
        if faults.claimChecksCapacity, !reservedHere, freeSlots(processID) <= 0 {
            registry[processID]?.reserved.removeValue(forKey: agentID)
            note("\(processID) refuses \(agentID): its reservation expired and it is full")
            return
        }
        if let current = placements[agentID], current != processID { registry[current]?.agents.remove(agentID) }
        placements[agentID] = processID
        registry[processID]?.agents.insert(agentID)
        registry[processID]?.reserved.removeValue(forKey: agentID)
        guard let row = rows[agentID], row.desiredRunning else {
            releaseAgent(agentID, from: processID)
            publishToLeaders(.agentStopped(agentID: agentID, processID: processID))
            return
        }
        if faults.active, random.chance(faults.ioFailure / 2) {
            releaseAgent(agentID, from: processID)
            publishToLeaders(.agentFailed(agentID: agentID, processID: processID))
            return
        }
        rows[agentID]?.status = .running
        rows[agentID]?.processID = processID
        rows[agentID]?.everConfirmed = true
        facts[agentID, default: Fact()].confirmed = true
        processes[processID]?.hosted.insert(agentID)
        note("\(processID) runs \(agentID)")
        publishToLeaders(.agentStarted(agentID: agentID, processID: processID))
    }

    /// `AgentHost.stop`: harmless when the agent does not run here.
    mutating func stop(_ agentID: String, on processID: String) {
        processes[processID]?.hosted.remove(agentID)
        releaseAgent(agentID, from: processID)
        markTerminated(agentID, by: "stop_agent on \(processID)")
        note("\(processID) stops \(agentID)")
        publishToLeaders(.agentStopped(agentID: agentID, processID: processID))
    }

    /// `retire_worker`: only an empty worker leaves.
    mutating func retire(_ processID: String) {
        guard processes[processID]?.hosted.isEmpty == true else { return }
        note("\(processID) retires")
        deregister(processID)
        exit(processID)
    }

    /// SIGTERM: leave placement, hand the agents back, announce, deregister, exit.
    mutating func terminateGracefully(_ processID: String) {
        guard let process = processes[processID], process.alive, !process.paused else { return }
        registry[processID]?.ready = false
        for agentID in process.hosted.sorted() {
            releaseAgent(agentID, from: processID)
            markUnplaced(agentID, processID: processID)
        }
        processes[processID]?.hosted = []
        note("\(processID) gets SIGTERM")
        publishToLeaders(.workerStopping(processID: processID))
        deregister(processID)
        exit(processID)
    }

    /// The process ends; the manager that launched it hears of it at once if it still leads.
    mutating func exit(_ processID: String) {
        guard let process = processes[processID], process.alive else { return }
        processes[processID]?.alive = false
        processes[processID]?.hosted = []
        guard let manager = process.manager, let index = currentLeader, leaders[index].manager == manager else { return }
        leaders[index].replies.append(.childExited(processID: processID, registered: process.everRegistered))
    }

    /// A frozen process resumes: its heartbeat comes first, then the commands it missed.
    mutating func resume(_ processID: String) {
        guard processes[processID]?.paused == true else { return }
        processes[processID]?.paused = false
        if registry[processID] == nil { processes[processID]?.stray = true }
        note("\(processID) resumes")
        heartbeat(processID)
        let inbox = processes[processID]?.inbox ?? []
        processes[processID]?.inbox = []
        for command in inbox { deliver(command, to: processID) }
    }
}
