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

    @Test func desiredWorkersStaysWithinBounds() {
        #expect(ScalingPolicy.desiredWorkers(agentsWanted: 0, limits: limits) == 1)
        #expect(ScalingPolicy.desiredWorkers(agentsWanted: 11, limits: limits) == 2)
        #expect(ScalingPolicy.desiredWorkers(agentsWanted: 1000, limits: limits) == 10)
    }
}
