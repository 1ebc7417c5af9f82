import PoolCore
import PoolProtocol

/// What clients (through the gateway) and an orchestrator do.
extension SimWorld {
    /// `POST …/agents`: insert the row, then ask the leader to place it.
    mutating func spawn() {
        nextAgent += 1
        let agentID = "a\(nextAgent)"
        let spec = AgentSpec(agentID: agentID, name: agentID, poolName: limits.poolName, role: limits.role, metadata: [:])
        rows[agentID] = Row(spec: spec, created: nextAgent)
        facts[agentID] = Fact()
        note("client spawns \(agentID)")
        publishToLeaders(.placeRequested(spec))
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
