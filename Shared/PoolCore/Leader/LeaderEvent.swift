import PoolProtocol

/// Everything that can happen to a pool's leader, as one ordered stream: the messages it
/// receives, its timer, what the worker processes it launched do, and the replies of the I/O
/// it asked for. A driver feeds them in one at a time (with the time they happened), so
/// every ordering question has exactly one answer.
public enum LeaderEvent: Sendable, Hashable {
    // MARK: Leadership

    /// The lease was taken: the first event of every machine.
    case leadershipStarted
    /// The leader's Redis connection came back after it was lost (it may have missed
    /// messages, and heartbeats may not have reached Redis meanwhile).
    case redisRecovered
    /// The lease was lost, or a write was refused as fenced: step down, act no more.
    case leadershipLost

    // MARK: Messages (pool:<name>:requests and :events)

    /// `place_agent`: a fresh spawn the gateway recorded and waits for.
    case placeRequested(AgentSpec)
    /// `terminate_agent`: a DELETE; the gateway already marked the row stopping.
    case terminateRequested(agentID: String)
    /// `worker_registered`: a worker joined (or re-joined, empty) and can take agents.
    case workerRegistered(processID: String)
    /// `worker_stopping`: a worker leaves and handed its agents back.
    case workerStopping(processID: String)
    /// `agent_started`: the worker confirmed the agent runs (PostgreSQL and Redis agree).
    case agentStarted(agentID: String, processID: String)
    /// `agent_failed` from a worker (not the leader's own refusal): it could not record it.
    case agentFailed(agentID: String, processID: String)
    /// `agent_stopped`: the agent stopped for good.
    case agentStopped(agentID: String, processID: String)

    // MARK: Timer and child processes

    /// The reconcile timer fired.
    case tick
    /// A worker process this manager launched ended; `registered` tells whether it had
    /// joined the pool (its agents need placing again) or died on the way (a failed launch).
    case childExited(processID: String, registered: Bool)
    /// A launched worker did not register in time (the launcher stopped it).
    case registrationTimedOut(processID: String)

    // MARK: Replies to the machine's own actions

    /// The reply to `reserveAndStart`.
    case reserveFinished(agentID: String, ReserveOutcome)
    /// The reply to `readSnapshot`.
    case snapshotRead(LeaderSnapshot)
    /// `readSnapshot` failed (Redis or PostgreSQL unreachable); the next tick tries again.
    case snapshotFailed
    /// The reply to `launch(count:)`.
    case launchFinished(LaunchOutcome)
    /// The reply to `heal`.
    case healFinished(processID: String, HealOutcome)
    /// The reply to `beginRetirement`: whether the worker is now draining (it was still empty).
    case retirementBegun(processID: String, accepted: Bool)
    /// The reply to `stop`.
    case stopFinished(agentID: String, StopOutcome)
}

/// What the reserve script did.
public enum ReserveOutcome: Sendable, Hashable {
    /// A slot is reserved on `processID` and it received `start_agent` (or the agent already
    /// runs there and was announced again).
    case placed(processID: String)
    /// No listening ready worker has a free slot.
    case noFreeSlot
    /// The script did not run or its answer was lost: nothing is known.
    case failed
}

/// What a `heal` did.
public enum HealOutcome: Sendable, Hashable {
    /// The worker's registry entries are gone and its agents' rows unplaced.
    case healed
    /// Its heartbeat is fresh again (it was frozen and resumed): nothing was changed, it
    /// keeps its agents. (A heal for staleness checks this in the same script.)
    case alive
    /// The I/O failed; the heal is tried again on the next pass.
    case failed
}

/// What a `launch(count:)` did.
public struct LaunchOutcome: Sendable, Hashable {
    /// How many launches the action asked for.
    public var requested: Int
    /// The process ids of the workers started (they register later, or fail to).
    public var started: [String]

    public init(requested: Int, started: [String]) {
        self.requested = requested
        self.started = started
    }
}

/// What a `stop` found and did.
public enum StopOutcome: Sendable, Hashable {
    /// A listening worker received `stop_agent`; its `agent_stopped` ends the stop.
    case sent(processID: String)
    /// The worker is registered but nobody listens on its channel (dead, or reconnecting).
    case notListening(processID: String)
    /// No registered worker hosts the agent (the registry places it nowhere and the worker
    /// its row names is gone, or its row names none): nothing can run it any more.
    case hostedNowhere
    /// The row is already terminated (or failed): nothing to do.
    case alreadyEnded
    /// The I/O failed; the stop is tried again.
    case failed
}
