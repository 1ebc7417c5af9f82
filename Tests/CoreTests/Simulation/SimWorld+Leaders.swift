import PoolCore
import PoolProtocol

/// Managers: feeding events to leader machines and performing their actions the way the
/// driver will, with today's registry and store calls (fenced by epoch).
extension SimWorld {
    /// A new leadership (a higher epoch); the previous leader learns of it only later and may
    /// act meanwhile: the world refuses its writes as fenced.
    mutating func changeLeader() {
        currentEpoch += 1
        leaderChanges += 1
        let manager = leaders.last.map { 1 - $0.manager } ?? 0
        for index in leaders.indices where leaders[index].active && leaders[index].loseLeadershipAt == nil {
            let at = clock + .milliseconds(random.int(0...3000))
            leaders[index].loseLeadershipAt = at
        }
        // Launches on their way were counted by the old leader only.
        for processID in processOrder where processes[processID]?.alive == true && processes[processID]?.everRegistered == false {
            processes[processID]?.stray = true
        }
        let machine = LeaderStateMachine(epoch: currentEpoch, limits: limits, tuning: tuning, now: now)
        leaders.append(Leader(machine: machine, manager: manager, nextTick: clock + limits.heartbeatInterval))
        let epoch = currentEpoch
        note("leader epoch \(epoch) on manager \(manager)")
        handle(.leadershipStarted, leader: leaders.count - 1)
    }

    /// Hands `event` to one leader and queues the actions it decides.
    mutating func handle(_ event: LeaderEvent, leader index: Int) {
        guard leaders[index].active else {
            if !leaders[index].machine.handle(event, at: now).isEmpty { violate("a leader acted after stepping down") }
            return
        }
        if case .reserveFinished(let agentID, _) = event { leaders[index].reservesInFlight.remove(agentID) }
        let actions = leaders[index].machine.handle(event, at: now)
        let epoch = leaders[index].machine.epoch
        if faults.keepsLog, !actions.isEmpty {
            note("epoch \(epoch) on \(Self.describe(event)) decides \(actions.map { Self.describe($0.kind) })")
        }
        for (position, action) in actions.enumerated() {
            if action.epoch != epoch { violate("an action of epoch \(action.epoch) from the leader of epoch \(epoch)") }
            if action.kind == .stepDown {
                if position != actions.count - 1 { violate("actions after stepDown") }
                leaders[index].active = false
                note("epoch \(epoch) steps down")
                continue
            }
            if case .reserveAndStart(let spec) = action.kind,
               !leaders[index].reservesInFlight.insert(spec.agentID).inserted
            {
                violate("a second reserve in flight for \(spec.agentID)")
            }
            if case .launch = action.kind {
                let machine = leaders[index].machine
                if machine.knownWorkers.count + machine.launchesInFlight > limits.maxWorkers {
                    violate("launch beyond max_workers: \(machine.knownWorkers.count) known + \(machine.launchesInFlight) launching")
                }
            }
            leaders[index].pendingIO.append(action)
        }
    }

    /// Performs one queued action of leader `index` against the world; its reply (if any)
    /// waits in the leader's replies to be delivered in some later step.
    mutating func perform(leader index: Int, io position: Int) {
        let action = leaders[index].pendingIO.remove(at: position)
        let fenced = action.epoch < currentEpoch
        let fails = faults.active && random.chance(faults.ioFailure)
        note("epoch \(action.epoch) performs \(Self.describe(action.kind))\(fenced ? " (fenced)" : "")\(fails ? " (fails)" : "")")
        if fenced, action.kind != .readSnapshot {
            if case .launch(let count) = action.kind {
                // Launching is not a registry write: a deposed leader's launch still starts workers.
                let started = (0..<count).map { _ in startProcess(manager: leaders[index].manager, stray: true) }
                leaders[index].replies.append(.launchFinished(LaunchOutcome(requested: count, started: started)))
                return
            }
            leaders[index].replies.append(.leadershipLost)
            return
        }
        if let reply = perform(action.kind, leader: index, failing: fails) { leaders[index].replies.append(reply) }
    }

    private mutating func perform(_ kind: LeaderAction.Kind, leader index: Int, failing: Bool) -> LeaderEvent? {
        let epoch = leaders[index].machine.epoch
        switch kind {
        case .readSnapshot:
            return failing ? .snapshotFailed : .snapshotRead(snapshot())
        case .reserveAndStart(let spec):
            if failing, random.chance(0.5) { return .reserveFinished(agentID: spec.agentID, .failed) }
            let outcome = reserve(spec, epoch: epoch)
            // The script ran, but its answer may be lost.
            return .reserveFinished(agentID: spec.agentID, failing ? .failed : outcome)
        case .launch(let count):
            let started = (0..<count).compactMap { _ -> String? in
                failing ? nil : startProcess(manager: leaders[index].manager, stray: false)
            }
            return .launchFinished(LaunchOutcome(requested: count, started: started))
        case .abandonLaunch(let processID):
            if processes[processID]?.manager == leaders[index].manager, registry[processID] == nil { exit(processID) }
            return nil
        case .heal(let processID, let onlyIfStale):
            if failing { return .healFinished(processID: processID, .failed) }
            if onlyIfStale, let worker = registry[processID], clock - worker.lastHeartbeat <= limits.staleAfter {
                return .healFinished(processID: processID, .alive)
            }
            if processes[processID]?.manager == leaders[index].manager { exit(processID) }
            // A worker healed while frozen comes back uninvited: no leader counts it any more (it
            // re-registers empty and retires once idle).
            if processes[processID]?.alive == true { processes[processID]?.stray = true }
            let agents = registry[processID]?.agents ?? []
            deregister(processID)
            for agentID in agents.sorted() { markUnplaced(agentID, processID: processID) }
            return .healFinished(processID: processID, .healed)
        case .refuse(let agentID, _):
            guard !failing else { return nil }
            refuse(agentID)
            return nil
        case .stop(let agentID, let processID):
            return .stopFinished(agentID: agentID, failing ? .failed : stop(agentID, hint: processID, epoch: epoch))
        case .recordTerminated(let agentID):
            guard !failing else { return nil }
            markTerminated(agentID, by: "recordTerminated")
            publishToLeaders(.agentStopped(agentID: agentID, processID: "gone"))
            return nil
        case .releaseOrphan(let agentID, let processID):
            if !failing, registry[processID] == nil, placements[agentID] == processID { placements.removeValue(forKey: agentID) }
            return nil
        case .beginRetirement(let processID):
            dropExpiredReservations(processID)
            guard !failing, let worker = registry[processID], worker.ready, worker.agents.isEmpty, worker.reserved.isEmpty else {
                return .retirementBegun(processID: processID, accepted: false)
            }
            registry[processID]?.ready = false
            return .retirementBegun(processID: processID, accepted: true)
        case .retire(let processID):
            if !failing { publish(.toWorker(processID, .retire(epoch: epoch))) }
            return nil
        case .publishDesiredWorkers(let count):
            if !failing { desiredWorkers = count }
            return nil
        case .stepDown:
            return nil
        }
    }

    /// The reserve script: announce again where the agent is placed, else reserve on the
    /// emptiest listening ready worker and send it `start_agent`.
    mutating func reserve(_ spec: AgentSpec, epoch: Int) -> ReserveOutcome {
        if let placedOn = placements[spec.agentID], registry[placedOn] != nil {
            guard isListening(placedOn) else { return .noFreeSlot }
            publish(.toWorker(placedOn, .start(spec, epoch: epoch)))
            return .placed(processID: placedOn)
        }
        for processID in registry.keys.sorted() { dropExpiredReservations(processID) }
        let candidates = registry.keys.filter { freeSlots($0) > 0 }.sorted { (freeSlots($0), $1) > (freeSlots($1), $0) }
        for processID in candidates {
            guard isListening(processID) else { continue }
            let deadline = clock + tuning.startTimeout
            registry[processID]?.reserved[spec.agentID] = deadline
            publish(.toWorker(processID, .start(spec, epoch: epoch)))
            return .placed(processID: processID)
        }
        return .noFreeSlot
    }

    /// The driver's stop: the registry's placement first, else the worker the leader knew
    /// or the row names; when none of those is registered, nothing can run the agent.
    private mutating func stop(_ agentID: String, hint: String?, epoch: Int) -> StopOutcome {
        if let placedOn = placements[agentID] {
            guard isListening(placedOn) else { return .notListening(processID: placedOn) }
            publish(.toWorker(placedOn, .stop(agentID, epoch: epoch)))
            return .sent(processID: placedOn)
        }
        guard let row = rows[agentID], row.status != .terminated, row.status != .failed else { return .alreadyEnded }
        let targets = Set([hint, row.processID].compactMap { $0 }).filter { registry[$0] != nil }.sorted()
        guard !targets.isEmpty else { return .hostedNowhere }
        var sentTo: String?
        for processID in targets where isListening(processID) {
            publish(.toWorker(processID, .stop(agentID, epoch: epoch)))
            sentTo = processID
        }
        if let sentTo { return .sent(processID: sentTo) }
        return .notListening(processID: targets[0])
    }

    /// `deleteRefused` as the SQL reads today (pending or starting, no worker), then
    /// `agent_failed` only if it deleted the row: a start an earlier leader sent may have
    /// won the race, and then the agent runs and nothing is refused.
    private mutating func refuse(_ agentID: String) {
        guard let row = rows[agentID], row.status == .pending || row.status == .starting, row.processID == nil else { return }
        if row.everConfirmed { violate("refused \(agentID), which ran before: its row is deleted") }
        facts[agentID, default: Fact()].refused = true
        rows.removeValue(forKey: agentID)
        note("refused \(agentID): row deleted")
    }

    /// What `readSnapshot` reads: placements, workers, rows (at one instant here; the reply
    /// may arrive much later, when all of it is stale).
    func snapshot() -> LeaderSnapshot {
        let workers = registry.keys.sorted().map { processID in
            let worker = registry[processID]!
            return WorkerSnapshot(
                processID: processID, poolName: limits.poolName, pid: 1, host: "sim", maxAgents: limits.maxAgentsPerProcess,
                agentCount: worker.agents.count, freeSlots: max(0, freeSlots(processID)), status: worker.ready ? .ready : .draining,
                startedAt: wall(worker.startedAt), lastHeartbeat: wall(worker.lastHeartbeat))
        }
        let ordered = rows.values.sorted { $0.created < $1.created }
        let reservations = registry.values.flatMap { $0.reserved.filter { $0.value > clock }.keys }
        return LeaderSnapshot(
            readAt: wallNow, workers: workers, placements: placements,
            shouldRun: ordered.filter(\.desiredRunning).map {
                LeaderSnapshot.Row(spec: $0.spec, processID: $0.processID, wasConfirmed: $0.everConfirmed)
            },
            stopping: ordered.filter { $0.status == .stopping }.map {
                LeaderSnapshot.StoppingRow(agentID: $0.spec.agentID, processID: $0.processID)
            },
            reservations: Set(reservations))
    }

    /// Short forms for the step log.
    static func describe(_ event: LeaderEvent) -> String {
        switch event {
        case .placeRequested(let spec): "placeRequested(\(spec.agentID))"
        case .snapshotRead(let snapshot):
            "snapshotRead(workers: \(snapshot.workers.map(\.processID)), placed: \(snapshot.placements.count), rows: \(snapshot.shouldRun.count))"
        case .reserveFinished(let agentID, let outcome): "reserveFinished(\(agentID), \(outcome))"
        default: "\(event)"
        }
    }

    static func describe(_ kind: LeaderAction.Kind) -> String {
        if case .reserveAndStart(let spec) = kind { return "reserveAndStart(\(spec.agentID))" }
        return "\(kind)"
    }
}
