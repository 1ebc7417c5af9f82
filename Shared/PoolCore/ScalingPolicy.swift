/// How many workers a pool needs: the auto-scaling arithmetic, free of I/O.
public enum ScalingPolicy {
    /// Scale-ups in a row after which a pool that runs full again grows geometrically.
    public static let burstStreak = 2

    /// The workers to launch now so that every waiting agent gets a slot: the agents not
    /// covered by free slots nor by workers already launching, divided by the slots per
    /// worker and rounded up, within `max_workers`. A burst of 25 agents into a full pool of
    /// 10-slot workers launches 3 at once, not 25 and not one at a time.
    ///
    /// Under a sustained burst that rule alone grows one worker at a time when fewer agents
    /// wait than a worker has slots (each launch covers them, so the next waits for it): 19
    /// launches in series from 1 to 20 workers. So when the pool ran full again after
    /// `burstStreak` scale-ups in a row (`recentScaleUps`, see `ScaleUpStreak`) and nothing is
    /// launching, it launches at least as many workers as it has, doubling the pool
    /// (1 → 2 → 3 → 6 → 12 → 20). The first two rounds stay exact, so a single burst that
    /// needs at most two rounds (11 agents into one 10-slot worker, 25 at once) launches
    /// exactly what it needs. Surplus workers retire after `idle_timeout`.
    public static func workersToLaunch(
        waitingAgents: Int, freeSlots: Int, workers: Int, launchesInFlight: Int, limits: PoolLimits, recentScaleUps: Int = 0
    ) -> Int {
        let slots = max(1, limits.maxAgentsPerProcess)
        let uncovered = waitingAgents - max(0, freeSlots) - launchesInFlight * slots
        guard uncovered > 0 else { return 0 }
        var count = (uncovered + slots - 1) / slots
        if recentScaleUps >= burstStreak, launchesInFlight == 0 { count = max(count, workers) }
        let room = limits.maxWorkers - workers - launchesInFlight
        return max(0, min(count, room))
    }

    /// How many workers the pool wants right now: enough for every agent it hosts, has
    /// reserved or is waiting to place, never fewer than `min_workers` nor more than
    /// `max_workers`.
    public static func desiredWorkers(agentsWanted: Int, limits: PoolLimits) -> Int {
        let slots = max(1, limits.maxAgentsPerProcess)
        let needed = (max(0, agentsWanted) + slots - 1) / slots
        return min(limits.maxWorkers, max(limits.minWorkers, needed))
    }
}
