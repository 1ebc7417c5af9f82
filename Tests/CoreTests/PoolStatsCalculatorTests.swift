import Foundation
import PoolCore
import PoolProtocol
import Testing

@Suite struct PoolStatsCalculatorTests {
    let limits = PoolLimits(
        poolName: "developer_pool", role: "developer", maxAgentsPerProcess: 10, minWorkers: 1, maxWorkers: 10,
        heartbeatInterval: .seconds(30), staleAfter: .seconds(300), idleTimeout: .seconds(600))
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func worker(_ id: String, free: Int, agents: Int, heartbeatAgo: TimeInterval) -> WorkerSnapshot {
        WorkerSnapshot(
            processID: id, poolName: "developer_pool", pid: 1, host: "h", maxAgents: 10, agentCount: agents,
            freeSlots: free, status: .ready, startedAt: now.addingTimeInterval(-1000),
            lastHeartbeat: now.addingTimeInterval(-heartbeatAgo))
    }

    @Test func guideExampleElevenAgentsOnTwoWorkers() {
        let stats = PoolStatsCalculator.stats(
            limits: limits,
            workers: [worker("a", free: 0, agents: 10, heartbeatAgo: 1), worker("b", free: 9, agents: 1, heartbeatAgo: 1)],
            agentCount: 11, desiredWorkers: nil, now: now, includeWorkers: false)
        #expect(stats.processCount == 2)
        #expect(stats.totalCapacity == 20)
        #expect(stats.usedCapacity == 11)
        #expect(stats.availableCapacity == 9)
        #expect(stats.utilization == 0.55)
        #expect(stats.activeWorkerProcesses == 2)
        #expect(stats.desiredWorkers == 2)
        #expect(stats.workers == nil)
    }

    @Test func reservationsCountAsUsedAndStaleWorkersAreNotActive() {
        let stats = PoolStatsCalculator.stats(
            limits: limits, workers: [worker("a", free: 7, agents: 1, heartbeatAgo: 301)],
            agentCount: 1, desiredWorkers: 3, now: now, includeWorkers: true)
        #expect(stats.usedCapacity == 3)
        #expect(stats.activeWorkerProcesses == 0)
        #expect(stats.desiredWorkers == 3)
        #expect(stats.workers?.map(\.processID) == ["a"])
    }

    @Test func emptyPoolHasZeroUtilization() {
        let stats = PoolStatsCalculator.stats(
            limits: limits, workers: [], agentCount: 0, desiredWorkers: nil, now: now, includeWorkers: false)
        #expect(stats.utilization == 0)
        #expect(stats.totalCapacity == 0)
    }
}
