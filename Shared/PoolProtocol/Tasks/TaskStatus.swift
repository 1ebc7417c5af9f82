/// Where a task is in its life (contract section 5, `Task.status`).
public enum TaskStatus: String, Sendable, Codable, CaseIterable {
    /// Accepted and waiting for its agent (also while it waits out a retry backoff).
    case queued
    /// An attempt runs on the agent's worker.
    case running
    /// Final: the agent answered a result.
    case succeeded
    /// Final: a non-retryable error, or the last attempt failed.
    case failed
    /// Final: cancelled by a request, or because its agent was terminated.
    case cancelled
    /// Final: the last attempt ran out of time.
    case timedOut = "timed_out"

    /// Whether the task has ended; a final task never changes again.
    public var isFinal: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .failed, .cancelled, .timedOut: true
        }
    }
}

/// The `event` of a task's server-sent event (contract section 5). Every one but `progress`
/// is a lifecycle event, recorded in PostgreSQL with the transition it describes.
public enum TaskEventKind: String, Sendable, Codable, CaseIterable {
    case queued
    case started
    case progress
    case retrying
    case succeeded
    case failed
    case cancelled
    case timedOut = "timed_out"

    /// The event a task's final status is announced with.
    public init?(final status: TaskStatus) {
        switch status {
        case .succeeded: self = .succeeded
        case .failed: self = .failed
        case .cancelled: self = .cancelled
        case .timedOut: self = .timedOut
        case .queued, .running: return nil
        }
    }

    /// Whether the stream of events ends with this one.
    public var isFinal: Bool { TaskStatus(rawValue: rawValue)?.isFinal ?? false }
}
