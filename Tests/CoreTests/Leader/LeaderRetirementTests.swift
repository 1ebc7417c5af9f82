import PoolCore
import PoolProtocol
import Testing

/// Retirement and `min_workers`.
@Suite struct LeaderRetirementTests {
    @Test func idleWorkersAboveMinWorkersRetireAfterIdleTimeoutTheYoungestFirst() {
        var leader = LeaderHarness(limits: .test(minWorkers: 1, idleTimeout: .seconds(60)))
        let workers = { (leader: LeaderHarness) in
            [leader.worker("old", free: 10, startedSecondsAgo: 900), leader.worker("young", free: 10, startedSecondsAgo: 10)]
        }
        let first = leader.lead(with: leader.snapshot(workers: workers(leader)))
        #expect(!first.contains { if case .beginRetirement = $0 { true } else { false } })
        leader.advance(.seconds(61))
        leader.send(.tick)
        let actions = leader.send(.snapshotRead(leader.snapshot(workers: workers(leader))))
        #expect(actions.contains(.beginRetirement(processID: "young")))
        #expect(!actions.contains(.beginRetirement(processID: "old")))
        #expect(leader.send(.retirementBegun(processID: "young", accepted: true)) == [.retire(processID: "young")])
    }

    @Test func aWorkerThatGotAnAgentIsNotRetired() {
        var leader = LeaderHarness(limits: .test(minWorkers: 0, idleTimeout: .seconds(60)))
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 10)]))
        leader.advance(.seconds(30))
        leader.send(.tick)
        leader.send(.snapshotRead(leader.snapshot(workers: [leader.worker("w1", free: 9, hosted: 1)])))
        leader.advance(.seconds(40))
        leader.send(.tick)
        let actions = leader.send(.snapshotRead(leader.snapshot(workers: [leader.worker("w1", free: 10)])))
        #expect(!actions.contains(.beginRetirement(processID: "w1")))
    }

    @Test func drainingWorkersLeftByAnEarlierLeaderAreToldToRetireEveryPass() {
        var leader = LeaderHarness()
        let snapshot = leader.snapshot(workers: [leader.worker("w1", free: 10), leader.worker("w2", free: 0, status: .draining)])
        #expect(leader.lead(with: snapshot).contains(.retire(processID: "w2")))
        leader.send(.tick)
        #expect(leader.send(.snapshotRead(snapshot)).contains(.retire(processID: "w2")))
    }

    @Test func minWorkersAreKeptCountingLaunchesOnTheWay() {
        var leader = LeaderHarness(limits: .test(minWorkers: 3))
        #expect(leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 10)])).launched == 2)
        leader.send(.tick)
        #expect(leader.send(.snapshotRead(leader.snapshot(workers: [leader.worker("w1", free: 10)]))).launched == 0)
        #expect(leader.machine.launchesInFlight == 2)
    }

    @Test func aLaunchThatNeverRegistersIsAbandonedAfterTheLaunchTimeout() {
        var leader = LeaderHarness(limits: .test(minWorkers: 2))
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 10)]))
        leader.send(.launchFinished(LaunchOutcome(requested: 1, started: ["n1"])))
        leader.advance(.seconds(16))
        #expect(leader.send(.tick).contains(.abandonLaunch(processID: "n1")))
        #expect(leader.machine.launchesInFlight == 0)
    }

    @Test func noWorkerIsLaunchedUntilEveryLiveWorkerHadAHeartbeatToReRegister() {
        // Redis lost its data: the registry shows no worker until they heartbeat again.
        var leader = LeaderHarness(limits: .test(minWorkers: 2))
        leader.send(.leadershipStarted)
        #expect(leader.send(.snapshotRead(leader.snapshot())).launched == 0)
        leader.advance(.seconds(1))
        leader.send(.tick)
        #expect(leader.send(.snapshotRead(leader.snapshot())).launched == 0)
        leader.advance(.seconds(1))
        leader.send(.tick)
        #expect(leader.send(.snapshotRead(leader.snapshot(workers: [leader.worker("w1", free: 10)]))).launched == 1)
        leader.send(.redisRecovered)
        leader.send(.tick)
        #expect(leader.send(.snapshotRead(leader.snapshot())).launched == 0)
    }
}
