/// What the driver's own snapshot repairs (`PoolLeader+Snapshot`, `+GoneWorkers`) remember
/// between passes. Only the leader's loop touches it.
struct RepairBook: Sendable {
    /// Rows naming a worker gone from Redis are not settled before this: `stale_after` after
    /// the leadership began and after Redis became reachable again (a live worker whose
    /// entries were lost puts them back with its next heartbeats).
    var graceUntil: ContinuousClock.Instant
    /// Draining workers that still host agents: since when each was seen so.
    var drainingSince: [String: ContinuousClock.Instant] = [:]
    /// The last snapshot could not be read (Redis away or stalled).
    var registryTrouble = false
    /// Agents the last pass found running on a live worker while their rows did not say so
    /// (agent id → that worker), for `confirmUnrecordedRunning`.
    var unrecordedRunning: [String: String] = [:]
}
