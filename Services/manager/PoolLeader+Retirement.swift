import CoreMetrics
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PoolCore
import PoolProtocol
import Registry

extension PoolLeader {
    /// Retires workers above `min_workers` that stayed empty for `idle_timeout`: each is first
    /// taken out of placement (atomically, only if still empty), then told to leave; it
    /// deregisters and exits by itself. Only that worker, never the pool. A worker found
    /// `draining` and empty (a previous leader began retiring it, then died) is adopted: told
    /// again on every pass until it leaves, so it never holds capacity as an orphan.
    func retireIdleWorkers(_ workers: [WorkerSnapshot]) async {
        let now = ContinuousClock.now
        let ready = workers.filter { $0.status == .ready }
        for worker in ready {
            if worker.agentCount == 0, worker.freeSlots >= worker.maxAgents {
                if emptySince[worker.processID] == nil { emptySince[worker.processID] = now }
            } else {
                emptySince.removeValue(forKey: worker.processID)
            }
        }
        let known = Set(workers.map(\.processID))
        emptySince = emptySince.filter { known.contains($0.key) }
        retiring = retiring.intersection(known)
        for worker in workers where worker.status == .draining && worker.agentCount == 0 {
            retiring.insert(worker.processID)
        }

        var remaining = ready.count
        let idle = ready.filter { worker in
            guard let since = emptySince[worker.processID] else { return false }
            return now - since >= limits.idleTimeout
        }.sorted { $0.startedAt > $1.startedAt }  // the youngest first: older workers stay warm
        for worker in idle where remaining > limits.minWorkers {
            do {
                guard try await registry.beginRetirement(processID: worker.processID, fence: fence) else { continue }
                retiring.insert(worker.processID)
                remaining -= 1
                metrics.retirements.increment()
                logger.info(
                    "Retiring idle worker",
                    metadata: ["process_id": "\(worker.processID)", "idle_timeout": "\(limits.idleTimeout)"])
            } catch {
                failed(error, "Could not retire worker", ["process_id": "\(worker.processID)"])
                if isDeposed { return }
            }
        }
        // (Re)send the command to every worker being retired: a lost message only delays it.
        for processID in retiring.sorted() {
            do {
                try await registry.publishCommand(.retireWorker(RetireWorker(targetProcessID: processID, epoch: epoch)), fence: fence)
            } catch {
                failed(error, "Could not send retire_worker; the next pass sends it again", ["process_id": "\(processID)"])
                if isDeposed { return }
            }
        }
    }
}
