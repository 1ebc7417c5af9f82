#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolProtocol

/// A reconcile pass: compare what should run (PostgreSQL) with what runs (the registry) and
/// repair the difference. It runs on every tick, at the start of the leadership, after Redis
/// comes back and after a heal, so that no promise rests on one message arriving.
extension LeaderStateMachine {
    /// Asks for a snapshot; while one is being read, the pass runs once more afterwards.
    mutating func requestSnapshot() {
        guard snapshotRequestedAt == nil else {
            rerunRequested = true
            return
        }
        snapshotRequestedAt = eventCount
        emit(.readSnapshot)
    }

    /// The read failed: the next tick asks again (not at once, which would spin while Redis
    /// or PostgreSQL is away).
    mutating func snapshotFailed() {
        snapshotRequestedAt = nil
        rerunRequested = false
    }

    mutating func reconcile(_ snapshot: LeaderSnapshot) {
        // `readStart` tells apart what the read could see: a queue entry admitted before it
        // had its row in PostgreSQL by then, one admitted after may not.
        guard let readStart = snapshotRequestedAt else { return }
        snapshotRequestedAt = nil
        hasReadSnapshot = true
        launches.heldUntilNextPass = false
        placementPaused = false

        let live = refreshWorkers(snapshot, readStart: readStart)
        let liveIDs = Set(workers.keys)
        let rows = Dictionary(snapshot.shouldRun.map { ($0.spec.agentID, $0) }, uniquingKeysWith: { first, _ in first })
        let shouldRun = Set(rows.keys)
        for row in snapshot.shouldRun where row.wasConfirmed { confirmed.insert(row.spec.agentID) }
        confirmed.formIntersection(shouldRun.union(queue.agentIDs).union(starts.keys))
        prune(shouldRun: shouldRun, placements: snapshot.placements, liveWorkers: liveIDs, readStart: readStart)

        let plan = ReconcilePlan.make(
            shouldRun: shouldRun, placed: snapshot.placements,
            reserved: queue.agentIDs.union(starts.keys).union(abandonedReserves.keys).union(snapshot.reservations),
            liveWorkers: liveIDs)
        for orphan in plan.orphaned { emit(.releaseOrphan(agentID: orphan.agentID, processID: orphan.processID)) }
        for placement in plan.toStop { ensureStop(placement.agentID, processID: placement.processID) }
        finishStops(snapshot.stopping, placements: snapshot.placements, readStart: readStart)
        admit(Set(plan.toPlace), from: snapshot, live: live)

        retryHeals()
        retireIdleWorkers(live)
        keepMinimumWorkers()
        publishDesiredWorkers(usedSlots: live.reduce(0) { $0 + $1.usedSlots })
        if rerunRequested {
            rerunRequested = false
            requestSnapshot()
        }
    }

    /// Takes the snapshot's workers as the live set: stale ones are declared dead (after the
    /// grace), launches that registered are done, and workers that registered after the read
    /// began are kept although it could not see them. Returns the live workers it read.
    private mutating func refreshWorkers(_ snapshot: LeaderSnapshot, readStart: UInt64) -> [WorkerSnapshot] {
        var live: [WorkerSnapshot] = []
        for worker in snapshot.workers {
            launchRegistered(worker.processID)
            guard healing[worker.processID] == nil else { continue }
            if Liveness.isStale(lastHeartbeat: worker.lastHeartbeat, now: snapshot.readAt, staleAfter: limits.staleAfter),
               !isInGrace
            {
                declareDead(worker.processID, onlyIfStale: true)
                continue
            }
            live.append(worker)
        }
        var refreshed: [String: KnownWorker] = [:]
        for worker in live {
            refreshed[worker.processID] = KnownWorker(
                isReady: worker.status == .ready, freeSlots: worker.status == .ready ? max(0, worker.freeSlots) : 0,
                startedAt: worker.startedAt, knownSince: workers[worker.processID]?.knownSince ?? eventCount)
        }
        for (processID, known) in workers where refreshed[processID] == nil && known.knownSince > readStart {
            refreshed[processID] = known
        }
        workers = refreshed
        slotsExhausted = totalFreeSlots == 0
        return live
    }

    /// Forgets agents the read shows need no placing any more: their rows no longer run, or
    /// they run on a live worker (their `agent_started` was lost).
    private mutating func prune(shouldRun: Set<String>, placements: [String: String], liveWorkers: Set<String>, readStart: UInt64) {
        func runs(_ agentID: String) -> Bool { placements[agentID].map(liveWorkers.contains) ?? false }
        let ended = queue.removeAll { $0.admitted < readStart && !shouldRun.contains($0.agentID) }
        for entry in ended where entry.isReserving { abandonedReserves[entry.agentID] = .stopIfPlaced }
        let running = queue.removeAll { $0.admitted < readStart && !$0.isReserving && runs($0.agentID) }
        confirmed.formUnion(running.map(\.agentID))
        starts = starts.filter { agentID, start in
            start.entry.admitted >= readStart || (shouldRun.contains(agentID) && !runs(agentID))
        }
        unattributedSince = unattributedSince.filter { shouldRun.contains($0.key) }
    }

    /// Admits the agents to place, oldest row first, at most `maxUnconfirmedRestores`
    /// unconfirmed at once; the rest wait in PostgreSQL (the backlog) for the next pass.
    private mutating func admit(_ toPlace: Set<String>, from snapshot: LeaderSnapshot, live: [WorkerSnapshot]) {
        let liveByID = Dictionary(live.map { ($0.processID, $0) }, uniquingKeysWith: { first, _ in first })
        var room = tuning.maxUnconfirmedRestores - queue.count - starts.count
        backlog = 0
        for row in snapshot.shouldRun where toPlace.contains(row.spec.agentID) {
            guard mayPlace(row, liveByID: liveByID, readAt: snapshot.readAt) else { continue }
            guard room > 0, queue.count < tuning.waitingLimit else {
                backlog += 1
                continue
            }
            let origin: PlacementQueue.Origin = confirmed.contains(row.spec.agentID) ? .replacement : .freshSpawn
            queue.add(.init(spec: row.spec, origin: origin, admitted: eventCount))
            room -= 1
        }
    }

    /// Whether placing this agent elsewhere cannot make it run twice. Its row may name a
    /// worker the registry does not place it on: a live worker stops such an agent on its
    /// next heartbeat (and unplaces the row), so wait for a heartbeat after the mismatch was
    /// seen; a worker the registry does not know may still run it unseen until the grace after
    /// the leadership started or Redis came back is over (then it is presumed dead).
    private mutating func mayPlace(_ row: LeaderSnapshot.Row, liveByID: [String: WorkerSnapshot], readAt: Date) -> Bool {
        let agentID = row.spec.agentID
        guard let named = row.processID else {
            unattributedSince.removeValue(forKey: agentID)
            return true
        }
        if let worker = liveByID[named] {
            let since = unattributedSince[agentID] ?? readAt
            unattributedSince[agentID] = since
            return worker.lastHeartbeat > since
        }
        unattributedSince.removeValue(forKey: agentID)
        return healing[named] != nil || !isInGrace
    }
}
