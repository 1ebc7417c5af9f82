import AgentStore
import Logging
import Registry

extension PoolLeader {
    /// Handles an error of one of the leader's steps: a refusal by a fence (the lease or the
    /// epoch belongs to another manager now) deposes this leader; anything else is logged, and
    /// the next reconcile pass retries.
    func failed(_ error: any Error, _ message: String, _ metadata: Logger.Metadata = [:]) {
        if error is LeaseLost || error is LeadershipLost {
            depose(because: error)
            return
        }
        var metadata = metadata
        metadata["error"] = "\(error)"
        logger.error("\(message)", metadata: metadata)
    }

    /// Stops this leader for good: nothing it started changes anything any more (each step
    /// checks `isDeposed`), and `depositions` tells the manager to end the leadership.
    func depose(because reason: any Error) {
        guard !isDeposed else { return }
        isDeposed = true
        waiting.removeAll()
        inFlight.removeAll()
        logger.warning("Fenced: another manager leads the pool; stepping down", metadata: ["reason": "\(reason)"])
        depositionSignal.yield()
        depositionSignal.finish()
    }

    /// Returns once this leader was deposed (or the calling task is cancelled).
    nonisolated func waitUntilDeposed() async {
        for await _ in depositions { return }
    }

    /// The leadership ended (lost lease, shutdown): act no more, quietly.
    func end() {
        isDeposed = true
        depositionSignal.finish()
    }
}
