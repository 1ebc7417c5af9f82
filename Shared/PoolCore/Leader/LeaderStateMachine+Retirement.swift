#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Retirement: idle workers above `min_workers` leave after `idle_timeout`, the youngest
/// first; workers found draining (an earlier leader began retiring them) are adopted.
extension LeaderStateMachine {
    mutating func retireIdleWorkers(_ live: [WorkerSnapshot]) {
        retirement.keep(only: Set(workers.keys))
        for worker in live where worker.status == .draining { retirement.retiring.insert(worker.processID) }
        let hasStarts = Set(starts.values.map(\.processID))
        let ready = live.filter { $0.status == .ready && !retirement.retiring.contains($0.processID) }
        for worker in ready {
            let isEmpty = worker.agentCount == 0 && worker.freeSlots >= worker.maxAgents && !hasStarts.contains(worker.processID)
            if isEmpty {
                retirement.emptySince[worker.processID] = retirement.emptySince[worker.processID] ?? now
            } else {
                retirement.emptySince.removeValue(forKey: worker.processID)
            }
        }
        // Agents waiting for a slot want every worker there is.
        if queue.isEmpty {
            var remaining = ready.count - retirement.beginning.count
            let idle = ready.filter { worker in
                guard !retirement.beginning.contains(worker.processID), let since = retirement.emptySince[worker.processID] else { return false }
                return now - since >= limits.idleTimeout
            }.sorted { ($0.startedAt, $0.processID) > ($1.startedAt, $1.processID) }  // the youngest first: older workers stay warm
            for worker in idle where remaining > limits.minWorkers {
                retirement.beginning.insert(worker.processID)
                emit(.beginRetirement(processID: worker.processID))
                remaining -= 1
            }
        }
        // A lost `retire_worker` only delays: it is sent again every pass until the worker leaves.
        for processID in retirement.retiring.sorted() { emit(.retire(processID: processID)) }
    }

    mutating func retirementBegun(_ processID: String, accepted: Bool) {
        retirement.beginning.remove(processID)
        retirement.emptySince.removeValue(forKey: processID)
        guard accepted, workers[processID] != nil else { return }
        retirement.retiring.insert(processID)
        workers[processID]?.isReady = false
        workers[processID]?.freeSlots = 0
        emit(.retire(processID: processID))
    }
}
