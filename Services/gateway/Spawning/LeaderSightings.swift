import Synchronization

/// Remembers, per pool, when a manager was last seen leading it (`pool:<name>:leader`
/// existed), so that spawns in a row check Redis about once a second instead of each time.
///
/// Only a positive answer is remembered: a pool without a manager is asked about again on
/// every spawn, so `no_manager` (503) is answered as soon as that is the case. A leader that
/// vanishes is at worst believed in for `freshness` longer. A spawn let through then either
/// finds no one listening on the requests channel (`PUBLISH` counts 0), checks again and
/// answers 503 leaving nothing behind, as before; or a standby listens, takes over and
/// places the agent, as if the leader had died just after the check.
final class LeaderSightings: Sendable {
    /// How long a sighting counts.
    static let freshness: Duration = .seconds(1)

    private let seen = Mutex<[String: ContinuousClock.Instant]>([:])

    /// Whether a manager was seen leading `pool` within `freshness`.
    func isFresh(_ pool: String, now: ContinuousClock.Instant = .now) -> Bool {
        seen.withLock { $0[pool].map { now - $0 < Self.freshness } ?? false }
    }

    /// A manager leads `pool` right now.
    func record(_ pool: String, now: ContinuousClock.Instant = .now) {
        seen.withLock { $0[pool] = now }
    }

    /// Doubt about `pool`'s manager (no one listened, or Redis failed): ask again next time.
    func forget(_ pool: String) {
        _ = seen.withLock { $0.removeValue(forKey: pool) }
    }
}
