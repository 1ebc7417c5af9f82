/// The observed status of an agent, as the API and the registry report it.
public enum AgentStatus: String, Sendable, Codable, CaseIterable {
    /// Recorded, not yet placed on a worker.
    case pending
    /// A worker was asked to start it.
    case starting
    /// A worker confirmed it runs.
    case running
    /// Termination was asked for and is in progress.
    case stopping
    /// Stopped for good; it lives on only in the database.
    case terminated
    /// Could not be started; it will not be retried.
    case failed

    /// Whether the agent has ended and will never run again.
    public var isFinal: Bool { self == .terminated || self == .failed }
}

/// What the database says should be true of an agent. Reconciliation makes the registry
/// match it.
public enum DesiredState: String, Sendable, Codable {
    case running
    case terminated
}
