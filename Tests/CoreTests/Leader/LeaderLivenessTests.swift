import PoolCore
import PoolProtocol
import Testing

/// Dead workers, the grace after a leadership or a reconnection, and placing without ever
/// running an agent twice.
@Suite struct LeaderLivenessTests {
    @Test func aStaleWorkerIsHealedOnlyAfterTheGrace() {
        var leader = LeaderHarness()
        leader.send(.leadershipStarted)
        let stale = leader.snapshot(workers: [leader.worker("w1", free: 10, heartbeatAge: .seconds(10)), leader.worker("w2", free: 10)])
        #expect(leader.send(.snapshotRead(stale)).healed.isEmpty)
        leader.advance(.seconds(4))
        leader.send(.tick)
        let later = leader.snapshot(workers: [leader.worker("w1", free: 10, heartbeatAge: .seconds(14)), leader.worker("w2", free: 10)])
        #expect(leader.send(.snapshotRead(later)).healed == ["w1"])
        #expect(leader.machine.knownWorkers == ["w2"])
    }

    @Test func redisComingBackRestartsTheGrace() {
        var leader = LeaderHarness()
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 10)]))
        leader.advance(.seconds(10))
        leader.send(.redisRecovered)
        leader.advance(.seconds(2))
        let stale = leader.snapshot(workers: [leader.worker("w1", free: 10, heartbeatAge: .seconds(8))])
        #expect(leader.send(.snapshotRead(stale)).healed.isEmpty)
    }

    @Test func aChildThatExitsIsHealedAtOnceAndItsStartsArePlacedAgain() {
        var leader = LeaderHarness()
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 10), leader.worker("w2", free: 10)]))
        leader.send(.placeRequested(.test("a")))
        leader.send(.reserveFinished(agentID: "a", .placed(processID: "w1")))
        let actions = leader.send(.childExited(processID: "w1", registered: true))
        #expect(actions.contains(.heal(processID: "w1", onlyIfStale: false)))
        #expect(actions.reserved == ["a"])
        #expect(leader.send(.healFinished(processID: "w1", .healed)) == [.readSnapshot])
    }

    @Test func aFailedHealIsRetriedOnTheNextPass() {
        var leader = LeaderHarness()
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 10)]))
        leader.send(.childExited(processID: "w1", registered: true))
        leader.send(.healFinished(processID: "w1", .failed))
        leader.send(.tick)
        #expect(leader.send(.snapshotRead(leader.snapshot(workers: [leader.worker("w1", free: 10)]))).healed == ["w1"])
    }

    @Test func anAgentWhoseRowNamesAnUnseenWorkerWaitsOutTheGrace() {
        // Redis lost its data: the row says "a" runs on w1, which has not re-registered yet.
        var leader = LeaderHarness()
        leader.send(.leadershipStarted)
        let wiped = leader.snapshot(workers: [leader.worker("w2", free: 10)], shouldRun: [.row("a", on: "w1", confirmed: true)])
        #expect(leader.send(.snapshotRead(wiped)).reserved.isEmpty)
        leader.advance(.seconds(4))
        leader.send(.tick)
        #expect(leader.send(.snapshotRead(wiped)).reserved == ["a"])
    }

    @Test func anAgentTheRegistryLostOnALiveWorkerWaitsForThatWorkersHeartbeat() {
        var leader = LeaderHarness()
        leader.send(.leadershipStarted)
        let lost = leader.snapshot(workers: [leader.worker("w1", free: 9, hosted: 1)], shouldRun: [.row("a", on: "w1", confirmed: true)])
        #expect(leader.send(.snapshotRead(lost)).reserved.isEmpty)
        leader.advance(.seconds(1))
        leader.send(.tick)
        // w1 heartbeated since: it stopped the agent the registry does not attribute to it.
        let after = leader.snapshot(workers: [leader.worker("w1", free: 10)], shouldRun: [.row("a", on: "w1", confirmed: true)])
        #expect(leader.send(.snapshotRead(after)).reserved == ["a"])
    }

    @Test func aWorkerThatReRegistersEmptyHasItsStartsPlacedAgain() {
        var leader = LeaderHarness()
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 10)]))
        leader.send(.placeRequested(.test("a")))
        leader.send(.reserveFinished(agentID: "a", .placed(processID: "w1")))
        let actions = leader.send(.workerRegistered(processID: "w1"))
        #expect(actions.reserved == ["a"])
        #expect(actions.contains(.readSnapshot))
    }
}
