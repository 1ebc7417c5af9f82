/// Workers joining, leaving and dying.
extension LeaderStateMachine {
    /// A worker joined, or re-joined empty after finding its registration gone.
    mutating func workerRegistered(_ processID: String) {
        // A heal in flight will remove this registration again; the worker re-registers.
        guard healing[processID]?.inFlight != true else { return }
        healing.removeValue(forKey: processID)
        launchRegistered(processID)
        let rejoined = workers[processID] != nil
        requeueStarts(on: processID)
        retirement.forget(processID)
        workers[processID] = KnownWorker(
            isReady: true, freeSlots: limits.maxAgentsPerProcess, startedAt: nil, knownSince: eventCount)
        slotsExhausted = false
        // It stopped what it hosted (rows unplaced): place those agents again.
        if rejoined { requestSnapshot() }
    }

    /// A worker leaves: it takes no more agents and handed its agents back.
    mutating func workerStopping(_ processID: String) {
        workers[processID]?.isReady = false
        workers[processID]?.freeSlots = 0
        requeueStarts(on: processID)
        requestSnapshot()
    }

    /// A worker is dead (its process exited, or its heartbeat is older than `stale_after`
    /// past the grace): heal it, and place its unconfirmed starts again at once; the agents
    /// it hosted are placed by the pass that follows the heal.
    mutating func declareDead(_ processID: String, onlyIfStale: Bool) {
        if let heal = healing[processID], heal.inFlight { return }
        workers.removeValue(forKey: processID)
        retirement.forget(processID)
        launches.pending.removeValue(forKey: processID)
        requeueStarts(on: processID)
        // A process exit is certain; it outweighs a staleness guess already made.
        let conditional = onlyIfStale && healing[processID]?.onlyIfStale != false
        healing[processID] = Heal(onlyIfStale: conditional)
        emit(.heal(processID: processID, onlyIfStale: conditional))
    }

    mutating func healFinished(_ processID: String, _ outcome: HealOutcome) {
        guard healing[processID] != nil else { return }
        switch outcome {
        case .healed:
            healing.removeValue(forKey: processID)
            requestSnapshot()
        case .alive:
            // It resumed in time. It counts as a worker again at once (no replacement for
            // it); its slots are known from the next pass.
            healing.removeValue(forKey: processID)
            workers[processID] = KnownWorker(isReady: false, freeSlots: 0, startedAt: nil, knownSince: eventCount)
            requestSnapshot()
        case .failed:
            healing[processID]?.inFlight = false
        }
    }

    /// Heals that failed are tried again each pass.
    mutating func retryHeals() {
        for (processID, heal) in healing.sorted(by: { $0.key < $1.key }) where !heal.inFlight {
            healing[processID]?.inFlight = true
            emit(.heal(processID: processID, onlyIfStale: heal.onlyIfStale))
        }
    }
}
