import PoolCore
import PoolProtocol

/// What clients (through the gateway) and an orchestrator do.
extension SimWorld {
    /// `POST …/agents`: insert the row, then place it on a free slot (the gateway's own
    /// placement script, while a manager leads) or, when none is free, ask the leader.
    mutating func spawn() {
        nextAgent += 1
        let agentID = "a\(nextAgent)"
        let spec = AgentSpec(agentID: agentID, name: agentID, poolName: limits.poolName, role: limits.role, metadata: [:])
        rows[agentID] = Row(spec: spec, created: nextAgent)
        facts[agentID] = Fact()
        note("client spawns \(agentID)")
        if gatewayPlaces(spec) { return }
        publishToLeaders(.placeRequested(spec))
    }

    /// `GatewayScripts.place`, most of the time: only while a manager leads, with the epoch the
    /// gateway knows (now and then the previous one: its cache, or a new leader that has not
    /// written `pool:<name>:epoch` yet; the worker's claim refuses such a start). A failed
    /// call may or may not have run; the gateway then takes the row back as `deleteRefused`
    /// does, and answers 503. True when the spawn is done with (placed or refused).
    private mutating func gatewayPlaces(_ spec: AgentSpec) -> Bool {
        guard currentLeader != nil, random.chance(0.7) else { return false }
        let epoch = random.chance(0.1) ? max(0, currentEpoch - 1) : currentEpoch
        let fails = faults.active && random.chance(faults.ioFailure)
        if fails, random.chance(0.5) {
            withdraw(spec.agentID)
            return true
        }
        let outcome = reserve(spec, epoch: epoch)
        note("gateway places \(spec.agentID) with epoch \(epoch): \(outcome)\(fails ? " (reply lost)" : "")")
        if fails {
            withdraw(spec.agentID)
            return true
        }
        return outcome != .noFreeSlot
    }

    /// The gateway's `deleteRefused` after a failed placement: only a row no worker recorded.
    private mutating func withdraw(_ agentID: String) {
        guard let row = rows[agentID], row.status == .pending || row.status == .starting, row.processID == nil,
              !row.everConfirmed
        else { return }
        facts[agentID, default: Fact()].refused = true
        rows.removeValue(forKey: agentID)
        note("gateway withdrew \(agentID)")
    }

    /// `DELETE …/agents/<id>`: mark it stopping (terminated at once when no worker has it),
    /// then ask the leader to stop it. Sometimes a repeated DELETE of one already stopping.
    mutating func delete() {
        let candidates = rows.values.filter { $0.desiredRunning || $0.status == .stopping }.map(\.spec.agentID).sorted()
        guard !candidates.isEmpty else { return }
        let agentID = candidates[random.index(candidates.count)]
        facts[agentID, default: Fact()].deleteRequested = true
        if var row = rows[agentID], row.desiredRunning {
            row.desiredRunning = false
            row.status = row.processID == nil ? .terminated : .stopping
            rows[agentID] = row
        }
        note("client deletes \(agentID)")
        publishToLeaders(.terminateRequested(agentID: agentID))
    }

    /// Processes that count as workers for `max_workers`: alive and counted by some leader
    /// (see `Process.stray`), and registered, booting, or running (about to re-register). A
    /// frozen process the registry forgot is dead for all a leader can know; when it resumes
    /// it comes back uninvited (a stray).
    var countedWorkers: Int {
        processes.count { processID, process in
            process.alive && !process.stray
                && (registry[processID] != nil || process.bootsAt != nil || (process.everRegistered && !process.paused))
        }
    }

    /// `launcher: external`: an orchestrator that starts workers up to `desired_workers`.
    mutating func orchestrate() {
        guard tuning.launcher == .external else { return }
        if countedWorkers < min(desiredWorkers, limits.maxWorkers) { _ = startProcess(manager: nil, stray: false) }
    }
}
