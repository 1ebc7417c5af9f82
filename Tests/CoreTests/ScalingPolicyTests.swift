import PoolCore
import Testing

@Suite struct ScalingPolicyTests {
    let limits = PoolLimits(
        poolName: "developer_pool", role: "developer", maxAgentsPerProcess: 10, minWorkers: 1, maxWorkers: 10,
        heartbeatInterval: .seconds(30), staleAfter: .seconds(300), idleTimeout: .seconds(600))

    @Test func burstIntoFullPoolLaunchesCeilOfAgentsOverSlots() {
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 25, freeSlots: 0, workers: 1, launchesInFlight: 0, limits: limits) == 3)
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 1, freeSlots: 0, workers: 1, launchesInFlight: 0, limits: limits) == 1)
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 10, freeSlots: 0, workers: 1, launchesInFlight: 0, limits: limits) == 1)
    }

    @Test func freeSlotsAndLaunchesInFlightCountTowardCapacity() {
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 5, freeSlots: 5, workers: 1, launchesInFlight: 0, limits: limits) == 0)
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 25, freeSlots: 0, workers: 1, launchesInFlight: 2, limits: limits) == 1)
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 23, freeSlots: 3, workers: 1, launchesInFlight: 2, limits: limits) == 0)
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 25, freeSlots: 3, workers: 1, launchesInFlight: 2, limits: limits) == 1)
    }

    @Test func neverBeyondMaxWorkers() {
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 500, freeSlots: 0, workers: 8, launchesInFlight: 1, limits: limits) == 1)
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 500, freeSlots: 0, workers: 10, launchesInFlight: 0, limits: limits) == 0)
    }

    @Test func theFirstTwoRoundsOfABurstStayExact() {
        // 11 sequential spawns into 10-slot workers: the 11th waits alone → 1 launch, 2 workers.
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 1, freeSlots: 0, workers: 1, launchesInFlight: 0, limits: limits, recentScaleUps: 0) == 1)
        // 25 at once: 15 wait → 2 launches; or, if the second worker registered and filled before
        // the last 5 arrived, a second round right after the first launches exactly 1.
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 15, freeSlots: 0, workers: 1, launchesInFlight: 0, limits: limits, recentScaleUps: 0) == 2)
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 1, freeSlots: 0, workers: 2, launchesInFlight: 0, limits: limits, recentScaleUps: 1) == 1)
    }

    @Test func aSustainedBurstDoublesThePool() {
        let wide = PoolLimits(
            poolName: "p", role: "r", maxAgentsPerProcess: 10, minWorkers: 1, maxWorkers: 20,
            heartbeatInterval: .seconds(30), staleAfter: .seconds(300), idleTimeout: .seconds(600))
        // After two scale-ups in a row, a pool that runs full again grows by as many workers as it has.
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 1, freeSlots: 0, workers: 3, launchesInFlight: 0, limits: wide, recentScaleUps: 2) == 3)
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 8, freeSlots: 0, workers: 6, launchesInFlight: 0, limits: wide, recentScaleUps: 5) == 6)
        // More need than workers: the need wins.
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 45, freeSlots: 0, workers: 2, launchesInFlight: 0, limits: wide, recentScaleUps: 2) == 5)
        // Never beyond max_workers.
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 1, freeSlots: 0, workers: 12, launchesInFlight: 0, limits: wide, recentScaleUps: 4) == 8)
        // Launches on the way, or free slots, cover the waiting agents: wait for them, burst or not.
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 8, freeSlots: 0, workers: 6, launchesInFlight: 1, limits: wide, recentScaleUps: 5) == 0)
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 8, freeSlots: 8, workers: 6, launchesInFlight: 0, limits: wide, recentScaleUps: 5) == 0)
        // Uncovered agents while launching: only what they need.
        #expect(ScalingPolicy.workersToLaunch(waitingAgents: 25, freeSlots: 0, workers: 6, launchesInFlight: 1, limits: wide, recentScaleUps: 5) == 2)
    }

    /// A cold burst of 8 clients into 10-slot workers, from 1 to 20 workers: each round the pool
    /// is full, nothing is launching and 8 agents wait.
    @Test func aColdBurstReachesTwentyWorkersInFiveRoundsInsteadOfNineteen() {
        let wide = PoolLimits(
            poolName: "p", role: "r", maxAgentsPerProcess: 10, minWorkers: 1, maxWorkers: 20,
            heartbeatInterval: .seconds(30), staleAfter: .seconds(300), idleTimeout: .seconds(600))
        func rounds(streaks: Bool) -> [Int] {
            var workers = 1, sizes: [Int] = []
            while workers < 20 {
                let count = ScalingPolicy.workersToLaunch(
                    waitingAgents: 8, freeSlots: 0, workers: workers, launchesInFlight: 0, limits: wide,
                    recentScaleUps: streaks ? sizes.count : 0)
                guard count > 0 else { break }
                sizes.append(count)
                workers += count
            }
            return sizes
        }
        #expect(rounds(streaks: true) == [1, 1, 3, 6, 8])
        #expect(rounds(streaks: false) == Array(repeating: 1, count: 19))
    }

    @Test func aStreakLastsWhileScaleUpsFollowWithinTheWindow() {
        let start = ContinuousClock.now
        var streak = ScaleUpStreak()
        #expect(streak.length(at: start) == 0)
        streak.record(at: start)
        #expect(streak.length(at: start + .seconds(1)) == 1)
        streak.record(at: start + .seconds(1))
        streak.record(at: start + .seconds(1) + ScaleUpStreak.window)
        #expect(streak.length(at: start + .seconds(1) + ScaleUpStreak.window) == 3)
        // A pause longer than the window ends it; the next scale-up starts a new one.
        let later = start + .seconds(2) + ScaleUpStreak.window * 2
        #expect(streak.length(at: later) == 0)
        streak.record(at: later)
        #expect(streak.length(at: later) == 1)
    }

    @Test func desiredWorkersStaysWithinBounds() {
        #expect(ScalingPolicy.desiredWorkers(agentsWanted: 0, limits: limits) == 1)
        #expect(ScalingPolicy.desiredWorkers(agentsWanted: 11, limits: limits) == 2)
        #expect(ScalingPolicy.desiredWorkers(agentsWanted: 1000, limits: limits) == 10)
    }
}
