#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// When a worker counts as alive. A worker is stale once its last heartbeat is older than
/// `stale_after` (contract: `active_worker_processes` counts the others).
///
/// The leader measures the age on Redis' clock (`RegistrySnapshot.heartbeatAges`), never the
/// worker's clock against its own, and declares nobody dead until `stale_after` has passed
/// since it started leading or since its Redis connection recovered: a stall of Redis itself
/// delays every heartbeat at once, and must not read as every worker dying.
public enum Liveness {
    /// Whether a worker whose last heartbeat is `heartbeatAge` seconds old is stale.
    public static func isStale(heartbeatAge: Double, staleAfter: Duration) -> Bool {
        heartbeatAge > staleAfter.seconds
    }

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
