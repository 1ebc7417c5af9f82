#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// When a worker counts as alive. A worker is stale once its last heartbeat is older than
/// `stale_after` (contract: `active_worker_processes` counts the others).
public enum Liveness {
    /// Whether a worker whose last heartbeat was at `lastHeartbeat` is stale at `now`.
    public static func isStale(lastHeartbeat: Date, now: Date, staleAfter: Duration) -> Bool {
        now.timeIntervalSince(lastHeartbeat) > staleAfter.seconds
    }
}

extension Duration {
    /// The duration in seconds, fractional.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
