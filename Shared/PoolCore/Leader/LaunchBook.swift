/// The workers the leader asked for that have not registered yet: capacity on the way, which
/// scaling counts so that a burst of 25 into 10-slot workers launches 3, not 25.
struct LaunchBook: Sendable, Hashable {
    /// Launches asked for whose `launchFinished` has not come yet.
    var awaitingReply = 0
    /// Started, not registered: process id → when it counts as failed.
    var pending: [String: ContinuousClock.Instant] = [:]
    /// A launch failed and no launched worker registered since: nothing can be started.
    var failedSinceRegistration = false
    /// A launch failed: launch no more until the next reconcile pass (the launcher backs off
    /// anyway; this keeps the machine from asking again on every event).
    var heldUntilNextPass = false

    var inFlight: Int { awaitingReply + pending.count }
}
