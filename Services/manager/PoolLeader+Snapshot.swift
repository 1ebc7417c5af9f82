import AgentStore
import CoreMetrics
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PoolConfig
import PoolCore
import PoolProtocol
import Registry

/// `readSnapshot`: the registry (placements and workers), then the agents table, with the
/// repairs the machine does not model performed on the way, mapped into a `LeaderSnapshot`.
extension PoolLeader {
    func readSnapshot() async throws -> LeaderSnapshot {
        let read: RegistrySnapshot
        do {
            read = try await registry.snapshot()
        } catch {
            repairs.registryTrouble = true
            throw error
        }
        if repairs.registryTrouble {
            // Heartbeats may not have reached Redis meanwhile: nobody is declared dead for
            // `stale_after` (the machine hears it as Redis coming back).
            repairs.registryTrouble = false
            repairs.graceUntil = max(repairs.graceUntil, .now + limits.staleAfter)
            replies.append(.redisRecovered)
        }
        let readAt = Date()
        // Heartbeats aged on Redis' clock, given to the machine as times against `readAt`.
        var workers = read.workers.map { worker in
            var worker = worker
            if let age = read.heartbeatAges[worker.processID] { worker.lastHeartbeat = readAt.addingTimeInterval(-age) }
            return worker
        }
        var placements = read.placements.hashes
        for stuck in stuckDraining(workers) {
            logger.warning("Worker stays draining with agents; healing it", metadata: ["process_id": "\(stuck)"])
            _ = try await heal(stuck, onlyIfStale: false)
            workers.removeAll { $0.processID == stuck }
            placements = placements.filter { $0.value != stuck }
        }
        let live = Set(workers.map(\.processID))
        recordWorkerMetrics(workers, ages: read.heartbeatAges)

        let rows = try await store.unsettled(pool: definition.name)
        let shouldRun = rows.filter { $0.desiredState == .running && $0.status != .failed }
        metrics.recordAgents(shouldRun)
        try await repairPlacements(read.placements, shouldRun: shouldRun, live: live, into: &placements)
        try await confirmUnrecordedRunning(shouldRun, placements: placements, live: live)
        let named = Set(rows.compactMap(\.processID)).subtracting(live)
        let unsettled = try await settleRowsNamingGoneWorkers(rows, live: live)
        let settled = named.subtracting(unsettled)

        var snapshot = LeaderSnapshot(
            readAt: readAt, workers: workers, placements: placements, shouldRun: [], stopping: [], reservations: read.reservations)
        for record in shouldRun {
            // A row still held by a worker that may live is not offered this pass: its start
            // would be refused (the row is that worker's), and the agent may run there.
            if let processID = record.processID, unsettled.contains(processID) { continue }
            let processID = record.processID.flatMap { settled.contains($0) ? nil : $0 }
            snapshot.shouldRun.append(.init(spec: record.spec, processID: processID, wasConfirmed: record.firstRunningAt != nil))
        }
        for record in rows where record.desiredState == .terminated {
            if let processID = record.processID, settled.contains(processID) { continue }  // recorded terminated
            snapshot.stopping.append(.init(agentID: record.id, processID: record.processID))
        }
        return snapshot
    }

    /// Repairs half-lost placements, each with a script that checks again: a hash naming a
    /// live worker that does not list the agent is cleared (placed again); a placement a worker
    /// lists but no hash records is written back (never started a second time); a second copy
    /// is detached from its worker's set. `placements` is updated to what the repairs left.
    private func repairPlacements(
        _ registryPlacements: ReconcilePlan.Registry, shouldRun: [AgentRecord], live: Set<String>,
        into placements: inout [String: String]
    ) async throws {
        let records = Dictionary(shouldRun.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let plan = ReconcilePlan.make(
            shouldRun: Set(records.keys), registry: registryPlacements,
            reserved: Set(machine.placingAgents).union(machine.unconfirmedStarts.keys), liveWorkers: live)
        var repaired = 0
        for entry in plan.unattributed
        where try await registry.clearUnattributed(agentID: entry.agentID, processID: entry.processID, fence: fence) {
            placements.removeValue(forKey: entry.agentID)
            repaired += 1
            logger.warning(
                "Cleared a placement its worker does not list", metadata: ["agent_id": "\(entry.agentID)", "process_id": "\(entry.processID)"])
        }
        for entry in plan.unrecorded {
            guard let record = records[entry.agentID] else { continue }
            if try await registry.restoreRecord(record.spec, processID: entry.processID, fence: fence) {
                placements[entry.agentID] = entry.processID
                repaired += 1
                logger.warning(
                    "Restored the lost record of an agent its worker runs",
                    metadata: ["agent_id": "\(entry.agentID)", "process_id": "\(entry.processID)"])
            }
        }
        for entry in plan.duplicates
        where try await registry.detachDuplicate(agentID: entry.agentID, processID: entry.processID, fence: fence) {
            repaired += 1
            logger.warning("Detached a second copy of an agent", metadata: ["agent_id": "\(entry.agentID)", "process_id": "\(entry.processID)"])
        }
        guard repaired > 0 else { return }
        metrics.reconcileRepairs.increment(by: repaired)
        logger.info(
            "Reconcile repairs",
            metadata: ["unattributed": "\(plan.unattributed.count)", "unrecorded": "\(plan.unrecorded.count)", "duplicates": "\(plan.duplicates.count)"])
    }

    private func recordWorkerMetrics(_ workers: [WorkerSnapshot], ages: [String: Double]) {
        metrics.workers.record(workers.count)
        metrics.freeSlots.record(workers.filter { $0.status == .ready }.reduce(0) { $0 + max(0, $1.freeSlots) })
        metrics.agents.record(workers.reduce(0) { $0 + $1.agentCount })
        metrics.heartbeatAge.record(workers.compactMap { ages[$0.processID] }.max() ?? 0)
    }
}
