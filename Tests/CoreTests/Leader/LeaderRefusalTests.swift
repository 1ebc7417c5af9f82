import PoolCore
import PoolProtocol
import Testing

/// Refusals: only fresh spawns, only when nothing can make room.
@Suite struct LeaderRefusalTests {
    let full = PoolLimits.test(maxWorkers: 1)

    @Test func atMaxWorkersAndFullAFreshSpawnIsRefused() {
        var leader = LeaderHarness(limits: full)
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 0, hosted: 10)]))
        let actions = leader.send(.placeRequested(.test("a")))
        #expect(actions.refused == ["a"])
        #expect(actions.launched == 0)
        #expect(leader.machine.placingAgents.isEmpty)
    }

    @Test func anAgentThatRanBeforeIsNeverRefusedButWaitsAndIsPlacedWhenASlotFrees() {
        var leader = LeaderHarness(limits: full)
        leader.send(.leadershipStarted)
        // w1 full; "old" ran before on a worker that was healed (row unplaced, confirmed).
        let actions = leader.send(.snapshotRead(leader.snapshot(
            workers: [leader.worker("w1", free: 0, hosted: 10)], shouldRun: [.row("old", confirmed: true)])))
        #expect(actions.refused.isEmpty)
        #expect(leader.machine.waitingAgents == ["old"])
        // A fresh spawn meanwhile is refused; "old" still waits.
        #expect(leader.send(.placeRequested(.test("new"))).refused == ["new"])
        #expect(leader.send(.tick).refused.isEmpty)
        #expect(leader.machine.waitingAgents == ["old"])
        // A slot frees: "old" is placed.
        #expect(leader.send(.agentStopped(agentID: "x", processID: "w1")).reserved == ["old"])
    }

    @Test func anAgentConfirmedInThisLeadershipIsNotRefusedWhenItsWorkerDies() {
        var leader = LeaderHarness(limits: .test(maxWorkers: 1))
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 10)]))
        leader.send(.placeRequested(.test("a")))
        leader.send(.reserveFinished(agentID: "a", .placed(processID: "w1")))
        leader.send(.agentStarted(agentID: "a", processID: "w1"))
        // Its worker died; a duplicate place_agent (the network repeats) finds no room.
        leader.send(.childExited(processID: "w1", registered: true))
        leader.send(.healFinished(processID: "w1", .healed))
        let actions = leader.send(.placeRequested(.test("a")))
        #expect(actions.refused.isEmpty)
    }

    @Test func whenNoWorkerCanBeStartedFreshSpawnsAreRefusedAndReplacementsWait() {
        var leader = LeaderHarness()
        leader.send(.leadershipStarted)
        leader.advance(.seconds(2))
        leader.send(.snapshotRead(leader.snapshot(
            workers: [leader.worker("w1", free: 0, hosted: 10)], shouldRun: [.row("old", confirmed: true)])))
        #expect(leader.machine.launchesInFlight == 1)
        leader.send(.placeRequested(.test("new")))
        let actions = leader.send(.launchFinished(LaunchOutcome(requested: 1, started: [])))
        #expect(actions.refused == ["new"])
        #expect(leader.machine.waitingAgents == ["old"])
    }

    @Test func aLaunchThatDiesBeforeRegisteringRefusesFreshSpawnsOnlyWhenNothingElseIsLaunching() {
        var leader = LeaderHarness()
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 0, hosted: 10)]))
        for index in 0..<15 { leader.send(.placeRequested(.test("a\(index)"))) }
        leader.send(.launchFinished(LaunchOutcome(requested: 1, started: ["n1"])))
        leader.send(.launchFinished(LaunchOutcome(requested: 1, started: ["n2"])))
        #expect(leader.send(.childExited(processID: "n1", registered: false)).refused.isEmpty)
        #expect(leader.send(.registrationTimedOut(processID: "n2")).refused.count == 15)
    }

    @Test func underAnExternalLauncherSpawnsWaitForTheOrchestrator() {
        var leader = LeaderHarness(launcher: .external)
        let first = leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 0, hosted: 10)]))
        #expect(first.launched == 0)
        let actions = leader.send(.placeRequested(.test("a")))
        #expect(actions.refused.isEmpty)
        #expect(actions.launched == 0)
        #expect(leader.send(.workerRegistered(processID: "w2")).reserved == ["a"])
    }

    @Test func aSpawnWhoseStartMayHaveReachedAWorkerIsNeverRefused() {
        var leader = LeaderHarness(limits: full)
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 2, hosted: 8)]))
        leader.send(.placeRequested(.test("a")))
        leader.send(.placeRequested(.test("b")))
        // The script ran for "a" but its answer was lost; "b" found no slot.
        leader.send(.reserveFinished(agentID: "a", .failed))
        let actions = leader.send(.reserveFinished(agentID: "b", .noFreeSlot))
        #expect(actions.refused == ["b"])
        #expect(leader.machine.waitingAgents == ["a"])
    }
}
