/// What a worker or manager announced about an agent.
enum AgentOutcome: Sendable, Equatable {
    /// Runs on `processID`; `updatedAt` is the row's `updated_at` after the worker recorded
    /// that, when the worker said (see `AgentEvent.updatedAt`).
    case started(processID: String, updatedAt: String?)
    /// Stopped for good; `updatedAt` as for `started`.
    case stopped(updatedAt: String?)
    /// `refused` marks the manager's capacity refusals (pool at `max_workers` and full).
    case failed(reason: String, refused: Bool)
}

/// Waiting spawns and terminates, each for its agent's next announced outcome.
typealias AgentOutcomes = Mailboxes<AgentOutcome>
