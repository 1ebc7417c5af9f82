/// Scaling: launch exactly what the waiting agents need, keep `min_workers`, refuse fresh
/// spawns only when nothing can make room.
extension LeaderStateMachine {
    /// Launches the workers the waiting agents need. Only on settled evidence: no reserve in
    /// flight and the pool known full (the reserve script or a snapshot said so), so that no
    /// worker is launched while a live one has a free slot.
    mutating func scaleUpIfNeeded() {
        guard tuning.launcher == .process, !launches.heldUntilNextPass, !isInRegistrationWindow, slotsExhausted, reservesInFlight == 0
        else { return }
        let waiting = queue.waitingCount
        guard waiting > 0 else { return }
        let streak = scaleUps.length(at: now)
        let count = ScalingPolicy.workersToLaunch(
            waitingAgents: waiting, freeSlots: 0, workers: poolSize, launchesInFlight: launches.inFlight,
            limits: limits, recentScaleUps: streak)
        guard count > 0 else { return }
        scaleUps.record(at: now)
        launch(count)
    }

    /// Keeps `min_workers` ready workers, counting launches on the way (each pass).
    mutating func keepMinimumWorkers() {
        guard tuning.launcher == .process, !launches.heldUntilNextPass, !isInRegistrationWindow else { return }
        let ready = workers.values.count(where: \.isReady) + healing.count
        let missing = limits.minWorkers - ready - launches.inFlight
        if missing > 0 { launch(missing) }
    }

    /// The workers that count toward `max_workers`: the live ones and those declared dead
    /// whose heal has not confirmed it yet (a frozen worker may answer that it lives), so that
    /// no replacement is launched for a worker that turns out alive.
    var poolSize: Int { workers.count + healing.count }

    private mutating func launch(_ count: Int) {
        launches.awaitingReply += count
        emit(.launch(count: count))
    }

    /// Refuses the fresh spawns waiting when nothing can make room for them: the pool is
    /// full at `max_workers`, or a launch failed and none is on the way. Agents that ran
    /// before are never refused: they wait, pending, for capacity.
    mutating func refuseIfHopeless() {
        func isRefusable(_ entry: PlacementQueue.Entry) -> Bool {
            !entry.isReserving && !entry.mayHaveStarted && entry.origin == .freshSpawn && !confirmed.contains(entry.agentID)
        }
        guard queue.entries.contains(where: isRefusable), slotsExhausted, reservesInFlight == 0, launches.inFlight == 0 else { return }
        let reason: String
        if poolSize >= limits.maxWorkers {
            reason = "pool \(limits.poolName) is at max_workers (\(limits.maxWorkers)) and full"
        } else if tuning.launcher == .process, launches.failedSinceRegistration {
            reason = "no worker could be started for pool \(limits.poolName)"
        } else {
            return
        }
        for entry in queue.removeAll(where: isRefusable) { emit(.refuse(agentID: entry.agentID, reason: reason)) }
    }

    mutating func launchFinished(_ outcome: LaunchOutcome) {
        launches.awaitingReply = max(0, launches.awaitingReply - outcome.requested)
        // A worker may register before the launch's reply arrives: it is no longer on the way.
        for processID in outcome.started where workers[processID] == nil {
            launches.pending[processID] = now + tuning.launchTimeout
        }
        if outcome.started.count < outcome.requested { noteLaunchFailure() }
    }

    /// A launched worker died before registering, or did not register in time.
    mutating func launchFailed(_ processID: String) {
        guard launches.pending.removeValue(forKey: processID) != nil else { return }
        noteLaunchFailure()
    }

    /// Launches the launcher never reported registered count as failed after
    /// `launchTimeout`; the driver kills them.
    mutating func expireLaunches() {
        for (processID, deadline) in launches.pending.sorted(by: { $0.key < $1.key }) where deadline <= now {
            launches.pending.removeValue(forKey: processID)
            emit(.abandonLaunch(processID: processID))
            noteLaunchFailure()
        }
    }

    /// A launched worker registered: launching works.
    mutating func launchRegistered(_ processID: String) {
        if launches.pending.removeValue(forKey: processID) != nil { launches.failedSinceRegistration = false }
    }

    private mutating func noteLaunchFailure() {
        launches.failedSinceRegistration = true
        launches.heldUntilNextPass = true
    }

    /// `desired_workers`: enough for what runs, what is being placed and the restore backlog
    /// (an orchestrator under `launcher: external` scales to it).
    mutating func publishDesiredWorkers(usedSlots: Int) {
        let wanted = usedSlots + queue.count + backlog
        emit(.publishDesiredWorkers(ScalingPolicy.desiredWorkers(agentsWanted: wanted, limits: limits)))
    }
}
