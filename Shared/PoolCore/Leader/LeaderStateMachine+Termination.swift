/// Termination: every stop ends terminated, also when the agent's worker died or no longer
/// hosts it.
extension LeaderStateMachine {
    struct PendingStop: Sendable, Hashable {
        /// Where the leader last knew the agent to be (the driver tries the registry first).
        var processID: String?
        var inFlight = false
        var lastAttempt: ContinuousClock.Instant
        /// The event count when it began, to tell whether a snapshot could have seen it.
        var began: UInt64
    }

    /// A DELETE: the agent is no longer placed (a reserve in flight is answered with a stop
    /// if it placed the agent), and it is stopped wherever it is.
    mutating func terminateRequested(_ agentID: String) {
        var processID: String?
        if let entry = queue.remove(agentID), entry.isReserving { abandonedReserves[agentID] = .stopIfPlaced }
        if let start = starts.removeValue(forKey: agentID) { processID = start.processID }
        ensureStop(agentID, processID: processID)
        // A repeated DELETE tries again at once.
        if stops[agentID]?.inFlight == false { attemptStop(agentID) }
    }

    /// Starts stopping the agent unless a stop is already under way (then only its worker
    /// is updated; retries come from the timer).
    mutating func ensureStop(_ agentID: String, processID: String?) {
        if stops[agentID] != nil {
            if let processID { stops[agentID]?.processID = processID }
            return
        }
        stops[agentID] = PendingStop(processID: processID, lastAttempt: now, began: eventCount)
        attemptStop(agentID)
    }

    private mutating func attemptStop(_ agentID: String) {
        guard let stop = stops[agentID] else { return }
        stops[agentID]?.inFlight = true
        stops[agentID]?.lastAttempt = now
        emit(.stop(agentID: agentID, processID: stop.processID))
    }

    mutating func stopFinished(_ agentID: String, _ outcome: StopOutcome) {
        guard stops[agentID] != nil else { return }
        stops[agentID]?.inFlight = false
        switch outcome {
        case .sent(let processID), .notListening(let processID):
            // Its `agent_stopped` ends it; a worker that never answers goes stale, is healed,
            // and the next attempt finds the agent hosted nowhere.
            stops[agentID]?.processID = processID
        case .failed:
            break
        case .hostedNowhere:
            stops.removeValue(forKey: agentID)
            emit(.recordTerminated(agentID: agentID))
        case .alreadyEnded:
            stops.removeValue(forKey: agentID)
        }
    }

    /// The agent stopped (its row is terminated): nothing of it is pending any more.
    mutating func agentStopped(_ agentID: String, on processID: String) {
        stops.removeValue(forKey: agentID)
        starts.removeValue(forKey: agentID)
        freeSlot(on: processID)
        if let entry = queue.remove(agentID), entry.isReserving { abandonedReserves[agentID] = .stopIfPlaced }
    }

    /// Stops not confirmed within `stopRetryInterval` are tried again.
    mutating func retryStops() {
        for (agentID, stop) in stops.sorted(by: { $0.key < $1.key })
        where !stop.inFlight && now - stop.lastAttempt >= tuning.stopRetryInterval {
            attemptStop(agentID)
        }
    }

    /// Rows still stopping get a stop (a `terminate_agent` may have been lost, or the worker
    /// died before stopping the agent); stops the read shows ended are forgotten.
    mutating func finishStops(_ stopping: [LeaderSnapshot.StoppingRow], placements: [String: String], readStart: UInt64) {
        for row in stopping where stops[row.agentID] == nil {
            ensureStop(row.agentID, processID: placements[row.agentID] ?? row.processID)
        }
        let stillStopping = Set(stopping.map(\.agentID))
        stops = stops.filter { agentID, stop in
            stop.inFlight || stop.began >= readStart || stillStopping.contains(agentID) || placements[agentID] != nil
        }
    }
}
