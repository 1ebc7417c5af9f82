/// How many workers a pool needs: the auto-scaling arithmetic, free of I/O.
public enum ScalingPolicy {
    /// The workers to launch now so that every waiting agent gets a slot: the agents not
    /// covered by free slots nor by workers already launching, divided by the slots per
    /// worker and rounded up, within `max_workers`. A burst of 25 agents into a full pool of
    /// 10-slot workers launches 3 at once, not 25 and not one at a time.
    public static func workersToLaunch(
        waitingAgents: Int, freeSlots: Int, workers: Int, launchesInFlight: Int, limits: PoolLimits
    ) -> Int {
        let slots = max(1, limits.maxAgentsPerProcess)
        let uncovered = waitingAgents - max(0, freeSlots) - launchesInFlight * slots
        guard uncovered > 0 else { return 0 }
        let needed = (uncovered + slots - 1) / slots
        let room = limits.maxWorkers - workers - launchesInFlight
        return max(0, min(needed, room))
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
