import PoolCore
import PoolProtocol
import Testing

/// Termination: every stop ends, wherever the agent is.
@Suite struct LeaderTerminationTests {
    @Test func aDeleteRemovesAWaitingAgent() {
        var leader = LeaderHarness(launcher: .external)
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 0, hosted: 10)]))
        leader.send(.placeRequested(.test("a")))
        leader.send(.placeRequested(.test("b")))
        let actions = leader.send(.terminateRequested(agentID: "a"))
        #expect(actions == [.stop(agentID: "a", processID: nil)])
        #expect(leader.machine.waitingAgents == ["b"])
        #expect(leader.send(.workerRegistered(processID: "w2")).reserved == ["b"])
    }

    @Test func aDeleteDuringTheReserveStopsTheAgentWhereTheReplyPlacedIt() {
        var leader = LeaderHarness()
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 10)]))
        leader.send(.placeRequested(.test("a")))
        leader.send(.terminateRequested(agentID: "a"))
        #expect(leader.machine.placingAgents.isEmpty)
        // The first stop found it nowhere yet; the reply then tells where the start went.
        #expect(leader.send(.stopFinished(agentID: "a", .failed)).isEmpty)
        leader.send(.reserveFinished(agentID: "a", .placed(processID: "w1")))
        #expect(leader.machine.unconfirmedStarts.isEmpty)
        leader.advance(.seconds(3))
        #expect(leader.send(.tick).contains(.stop(agentID: "a", processID: "w1")))
    }

    @Test func aStopWhoseWorkerIsGoneIsRecordedTerminated() {
        var leader = LeaderHarness()
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 10)]))
        leader.send(.terminateRequested(agentID: "a"))
        #expect(leader.send(.stopFinished(agentID: "a", .hostedNowhere)) == [.recordTerminated(agentID: "a")])
        #expect(leader.machine.stoppingAgents.isEmpty)
    }

    @Test func aStopNeverConfirmedIsSentAgainUntilItEnds() {
        var leader = LeaderHarness()
        leader.lead(with: leader.snapshot(
            workers: [leader.worker("w1", free: 9, hosted: 1)], placements: ["a": "w1"], shouldRun: [.row("a", on: "w1", confirmed: true)]))
        #expect(leader.send(.terminateRequested(agentID: "a")) == [.stop(agentID: "a", processID: nil)])
        leader.send(.stopFinished(agentID: "a", .sent(processID: "w1")))
        leader.advance(.seconds(1))
        #expect(!leader.send(.tick).contains(.stop(agentID: "a", processID: "w1")))
        leader.send(.snapshotFailed)
        leader.advance(.seconds(1))
        #expect(leader.send(.tick).contains(.stop(agentID: "a", processID: "w1")))
        // The worker's agent_stopped was lost; the retry finds the row terminated.
        leader.send(.stopFinished(agentID: "a", .alreadyEnded))
        #expect(leader.machine.stoppingAgents.isEmpty)
    }

    @Test func reconcileStopsRowsThatAreStoppingAndAgentsThatShouldNotRun() {
        var leader = LeaderHarness()
        leader.send(.leadershipStarted)
        let actions = leader.send(.snapshotRead(leader.snapshot(
            workers: [leader.worker("w1", free: 8, hosted: 2)], placements: ["x": "w1"],
            stopping: [.init(agentID: "lost", processID: "w9")])))
        #expect(actions.contains(.stop(agentID: "x", processID: "w1")))
        #expect(actions.contains(.stop(agentID: "lost", processID: "w9")))
    }

    @Test func reconcilePrunesWaitingAgentsWhoseRowsNoLongerRun() {
        var leader = LeaderHarness(launcher: .external)
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 0, hosted: 10)]))
        leader.send(.placeRequested(.test("a")))
        leader.send(.placeRequested(.test("b")))
        leader.send(.tick)
        // The terminate_agent for "a" was lost; its row no longer runs.
        leader.send(.snapshotRead(leader.snapshot(workers: [leader.worker("w1", free: 0, hosted: 10)], shouldRun: [.row("b")])))
        #expect(leader.machine.waitingAgents == ["b"])
    }

    @Test func aSpawnArrivingWhileASnapshotIsReadIsNotPrunedByIt() {
        var leader = LeaderHarness(launcher: .external)
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 0, hosted: 10)]))
        leader.send(.tick)
        leader.send(.placeRequested(.test("late")))
        leader.send(.snapshotRead(leader.snapshot(workers: [leader.worker("w1", free: 0, hosted: 10)])))
        #expect(leader.machine.waitingAgents == ["late"])
    }
}
