#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One attempt in flight in a lane.
struct RunningAttempt: Sendable {
    let attempt: Int
    /// Ends the attempt when its time is up.
    let deadline: Task<Void, Never>
    /// A cancel was passed to the agent: an error now ends the task `cancelled`.
    var cancelRequested = false
    /// The attempt's outcome is recorded already (it timed out), but the agent was told to give
    /// it up and has not answered yet: the slot stays taken until it does, so that the next
    /// attempt never meets this one's late answer (answers carry only the task id).
    var settled = false
    /// Once the agent answers a `settled` attempt: where the task waits for its next attempt
    /// (nil: it ended).
    var requeue: Requeue?

    struct Requeue: Sendable {
        let seq: Int
        let notBefore: Date?
    }
}
