import PoolCore
import PoolProtocol

/// The promises the simulation checks. Safety after every step; liveness at the end of the
/// calm phase that closes every schedule (its length is the bound).
extension SimWorld {
    /// A process that can run an agent: alive, and either running or still registered (a
    /// frozen worker declared dead stops its agents first thing when it resumes).
    func canRun(_ processID: String, _ process: Process) -> Bool {
        process.alive && (!process.paused || registry[processID] != nil)
    }

    mutating func checkSafety() {
        var hosted: Set<String> = []
        for (processID, process) in processes where !process.hosted.isEmpty && canRun(processID, process) {
            for agentID in process.hosted where !hosted.insert(agentID).inserted {
                let others = processes.filter { $0.key != processID && canRun($0.key, $0.value) && $0.value.hosted.contains(agentID) }
                violate("\(agentID) runs on \(processID) and \(others.keys.sorted())")
            }
            if process.hosted.count > limits.maxAgentsPerProcess { violate("\(processID) hosts \(process.hosted.count) agents") }
        }
        for (processID, worker) in registry {
            let reserved = worker.reserved.values.count { $0 > clock }
            if worker.agents.count + reserved > limits.maxAgentsPerProcess {
                violate("\(processID) has \(worker.agents.count) agents and \(reserved) reservations: negative free slots")
            }
        }
        if countedWorkers > limits.maxWorkers { violate("\(countedWorkers) workers, max_workers is \(limits.maxWorkers)") }
        // Confirmed agents never deleted or refused, and never terminated without a DELETE,
        // are checked where rows change (`refuse`, `markTerminated`).
    }

    /// What is still not as promised; empty once the pool converged.
    func unkeptPromises() -> [String] {
        var problems: [String] = []
        var hosts: [String: [String]] = [:]
        for (processID, process) in processes where canRun(processID, process) {
            for agentID in process.hosted { hosts[agentID, default: []].append(processID) }
        }
        let capacity = limits.maxWorkers * limits.maxAgentsPerProcess
        let shouldRun = rows.values.filter(\.desiredRunning).map(\.spec.agentID).sorted()
        var running = 0
        var notRunning: [String] = []
        for agentID in shouldRun {
            let on = hosts[agentID] ?? []
            if on.count == 1, placements[agentID] == on[0], registry[on[0]] != nil, rows[agentID]?.processID == on[0] {
                running += 1
            } else {
                notRunning.append(agentID)
            }
        }
        // Agents may wait only while the pool is full at max_workers, and then visibly.
        if !notRunning.isEmpty {
            let leader = currentLeader.map { leaders[$0].machine }
            let visible = Set(leader?.placingAgents ?? []).union(leader?.unconfirmedStarts.keys ?? [:].keys)
            let waitsVisibly = running >= capacity
                && notRunning.allSatisfy { visible.contains($0) || (leader?.restoreBacklog ?? 0) > 0 }
            if !waitsVisibly { problems.append("should run but do not: \(notRunning.prefix(5))") }
        }
        for (agentID, fact) in facts.sorted(by: { $0.key < $1.key }) where fact.deleteRequested {
            if let row = rows[agentID], row.status != .terminated { problems.append("\(agentID) deleted but \(row.status)") }
            if hosts[agentID] != nil { problems.append("\(agentID) deleted but runs") }
        }
        for (agentID, on) in hosts where rows[agentID]?.desiredRunning != true {
            problems.append("\(agentID) runs on \(on) but should not")
        }
        for processID in registry.keys where processes[processID]?.alive != true {
            problems.append("registry keeps dead \(processID)")
        }
        for (agentID, processID) in placements where registry[processID] == nil {
            problems.append("\(agentID) placed on unregistered \(processID)")
        }
        return problems
    }
}
