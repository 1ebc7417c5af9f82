#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolProtocol

/// What `startAttempt` did.
public enum AttemptStart: Sendable, Hashable {
    /// The attempt is recorded (`attempt` + 1, `running`, owned by the caller): run it.
    case started(TaskRecord)
    /// A cancel was recorded before it ran: it ended `cancelled` without running.
    case cancelled(TaskRecord)
    /// It waits out a retry backoff until then.
    case notBefore(Date)
    /// Nothing to run: the task is final, runs already, or its agent is not placed on the caller.
    case notStartable
}

/// How an attempt ended, as the worker saw it.
public enum AttemptResult: Sendable, Hashable {
    case succeeded(JSONValue)
    /// `retryable` failures run again until `max_attempts`.
    case failed(TaskFailure)
    /// The attempt ran out of time (retried like a retryable failure; the last one ends `timed_out`).
    case timedOut
    /// The agent answered a cancel with an error, or did not answer it in time.
    case cancelled
}
