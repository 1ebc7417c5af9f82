/// Workers joining, leaving and dying.
extension LeaderStateMachine {
    /// A worker joined, or re-joined empty after finding its registration gone.
    mutating func workerRegistered(_ processID: String) {
        // A heal in flight will remove this registration again; the worker re-registers.
        guard healing[processID] != true else { return }
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
    mutating func declareDead(_ processID: String) {
        guard healing[processID] != true else { return }
        workers.removeValue(forKey: processID)
        retirement.forget(processID)
        launches.pending.removeValue(forKey: processID)
        requeueStarts(on: processID)
        healing[processID] = true
        emit(.heal(processID: processID))
    }

    mutating func healFinished(_ processID: String, succeeded: Bool) {
        guard healing[processID] != nil else { return }
        if succeeded {
            healing.removeValue(forKey: processID)
            requestSnapshot()
        } else {
            healing[processID] = false
        }
    }

    /// Heals that failed are tried again each pass.
    mutating func retryHeals() {
        for (processID, inFlight) in healing.sorted(by: { $0.key < $1.key }) where !inFlight {
            healing[processID] = true
            emit(.heal(processID: processID))
        }
    }
}
