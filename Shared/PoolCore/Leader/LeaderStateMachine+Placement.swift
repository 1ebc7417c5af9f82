import PoolProtocol

/// Placement: one reserve in flight per agent, first come first served, a start that is
/// never confirmed placed again.
extension LeaderStateMachine {
    /// A fresh spawn (`place_agent`). A duplicate, or an agent already being placed or
    /// stopped, changes nothing.
    mutating func placeRequested(_ spec: AgentSpec) {
        let agentID = spec.agentID
        guard spec.poolName == limits.poolName, !queue.contains(agentID), starts[agentID] == nil,
              abandonedReserves[agentID] == nil, stops[agentID] == nil
        else { return }
        let origin: PlacementQueue.Origin = confirmed.contains(agentID) ? .replacement : .freshSpawn
        guard queue.count < tuning.waitingLimit else {
            // At the bound a fresh spawn is told at once; an agent that ran before stays in
            // PostgreSQL and a later pass admits it when there is room.
            if origin == .freshSpawn {
                emit(.refuse(agentID: agentID, reason: "pool \(limits.poolName) has \(queue.count) agents waiting for a slot"))
            } else {
                backlog += 1
            }
            return
        }
        queue.add(.init(spec: spec, origin: origin, admitted: eventCount))
    }

    /// Reserves in flight, also those whose agents left the queue meanwhile.
    var reservesInFlight: Int { queue.reservingCount + abandonedReserves.count }

    /// Free slots on ready workers as last known.
    var totalFreeSlots: Int { workers.values.reduce(0) { $0 + ($1.isReady ? max(0, $1.freeSlots) : 0) } }

    /// Sends reserves for the first waiting agents, as many as there are free slots not
    /// already being reserved. With none known but none known to be missing either (the
    /// count may be stale), one reserve probes.
    mutating func pump() {
        guard !placementPaused else { return }
        var budget = max(0, totalFreeSlots - reservesInFlight)
        if budget == 0, !slotsExhausted, reservesInFlight == 0 { budget = 1 }
        for entry in queue.entries where !entry.isReserving {
            guard budget > 0 else { break }
            queue.setReserving(entry.agentID, true)
            emit(.reserveAndStart(entry.spec))
            budget -= 1
        }
    }

    mutating func reserveFinished(_ agentID: String, _ outcome: ReserveOutcome) {
        if let abandoned = abandonedReserves.removeValue(forKey: agentID) {
            if case .placed(let processID) = outcome {
                consumeSlot(on: processID)
                if abandoned == .stopIfPlaced { ensureStop(agentID, processID: processID) }
            }
            return
        }
        guard let entry = queue.entry(agentID), entry.isReserving else { return }
        switch outcome {
        case .placed(let processID):
            queue.remove(agentID)
            consumeSlot(on: processID)
            var started = entry
            started.isReserving = false
            started.mayHaveStarted = true
            starts[agentID] = PendingStart(entry: started, processID: processID, deadline: now + tuning.startTimeout)
        case .noFreeSlot:
            // The script looked at every listening ready worker: the pool is full right now.
            queue.setReserving(agentID, false)
            slotsExhausted = true
            for processID in Array(workers.keys) { workers[processID]?.freeSlots = 0 }
        case .failed:
            // The script may have run and sent the start: never refuse this agent now.
            queue.update(agentID) {
                $0.isReserving = false
                $0.mayHaveStarted = true
            }
            placementPaused = true
        }
    }

    /// The worker confirmed: the start is done, and the agent is never refused from now on.
    mutating func agentStarted(_ agentID: String, on processID: String) {
        confirmed.insert(agentID)
        starts.removeValue(forKey: agentID)
        if let entry = queue.remove(agentID), entry.isReserving { abandonedReserves[agentID] = .alreadyRunning }
        // Restoring: confirmations pull in the rest of the backlog.
        if backlog > 0, queue.count + starts.count <= tuning.maxUnconfirmedRestores / 2 { requestSnapshot() }
    }

    /// The worker could not record the agent and let its slot go; the next pass places the
    /// agent again if it should still run.
    mutating func agentFailed(_ agentID: String, on processID: String) {
        guard starts[agentID]?.processID == processID else { return }
        starts.removeValue(forKey: agentID)
        freeSlot(on: processID)
        requestSnapshot()
    }

    /// Starts whose confirmation did not come in time are placed again, ahead of the others:
    /// they waited longest. (Their reservation in Redis expired at the same deadline; if the
    /// worker still claims the agent late, the claim script keeps it from running twice.)
    mutating func expireStarts() {
        let expired = starts.filter { $0.value.deadline <= now }
        for (agentID, start) in expired.sorted(by: { $0.value.deadline > $1.value.deadline }) {
            starts.removeValue(forKey: agentID)
            freeSlot(on: start.processID)
            queue.add(start.entry, atFront: true)
        }
    }

    /// Starts on a worker that died, left or re-registered empty will never be confirmed:
    /// place those agents again at once.
    mutating func requeueStarts(on processID: String) {
        let lost = starts.filter { $0.value.processID == processID }
        for (agentID, start) in lost.sorted(by: { $0.value.deadline > $1.value.deadline }) {
            starts.removeValue(forKey: agentID)
            queue.add(start.entry, atFront: true)
        }
    }

    mutating func consumeSlot(on processID: String) {
        guard var worker = workers[processID] else { return }
        worker.freeSlots = max(0, worker.freeSlots - 1)
        workers[processID] = worker
    }

    mutating func freeSlot(on processID: String) {
        guard var worker = workers[processID] else { return }
        worker.freeSlots = min(limits.maxAgentsPerProcess, worker.freeSlots + 1)
        workers[processID] = worker
        if worker.isReady { slotsExhausted = false }
    }
}
