import PoolCore
import PoolProtocol
import Testing

/// Placement and scaling, driven event by event.
@Suite struct LeaderPlacementTests {
    @Test func nothingHappensBeforeTheLeadershipStarts() {
        var leader = LeaderHarness()
        #expect(leader.send(.placeRequested(.test("a"))).isEmpty)
        #expect(leader.send(.tick).isEmpty)
        #expect(leader.send(.leadershipStarted) == [.readSnapshot])
        #expect(leader.machine.placingAgents.isEmpty)
    }

    @Test func everyActionCarriesTheEpoch() {
        var leader = LeaderHarness(epoch: 42)
        let actions = leader.machine.handle(.leadershipStarted, at: leader.now)
        #expect(actions == [LeaderAction(epoch: 42, .readSnapshot)])
    }

    @Test func aSpawnIsReservedOnceThoughItIsRequestedTwice() {
        var leader = LeaderHarness()
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 10)]))
        #expect(leader.send(.placeRequested(.test("a"))).reserved == ["a"])
        #expect(leader.send(.placeRequested(.test("a"))).isEmpty)
        leader.send(.reserveFinished(agentID: "a", .placed(processID: "w1")))
        #expect(leader.send(.placeRequested(.test("a"))).isEmpty)
        #expect(leader.machine.unconfirmedStarts == ["a": "w1"])
        leader.send(.agentStarted(agentID: "a", processID: "w1"))
        #expect(leader.machine.unconfirmedStarts.isEmpty)
    }

    @Test func aBurstOf25IntoAFullTenSlotWorkerLaunchesThree() {
        var leader = LeaderHarness()
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 0, hosted: 10)]))
        var launched = 0
        for index in 0..<25 { launched += leader.send(.placeRequested(.test("a\(index)"))).launched }
        #expect(launched == 3)
        #expect(leader.machine.waitingAgents.count == 25)
        #expect(leader.machine.launchesInFlight == 3)
    }

    @Test func aBurstIntoFreeSlotsReservesThemAllBeforeLaunchingForTheRest() {
        var leader = LeaderHarness()
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 10)]))
        var actions: [LeaderAction.Kind] = []
        for index in 0..<25 { actions += leader.send(.placeRequested(.test("a\(index)"))) }
        // Ten slots: ten reserves; no launch until their replies are in (the count may be stale).
        #expect(actions.reserved == (0..<10).map { "a\($0)" })
        #expect(actions.launched == 0)
        for index in 0..<10 { actions = leader.send(.reserveFinished(agentID: "a\(index)", .placed(processID: "w1"))) }
        // The slots it knew of are taken: one reserve probes whether others freed meanwhile...
        #expect(actions.reserved == ["a10"])
        #expect(actions.launched == 0)
        // ...and only the script's "no free slot" launches, exactly for the 15 left.
        #expect(leader.send(.reserveFinished(agentID: "a10", .noFreeSlot)).launched == 2)
    }

    @Test func noWorkerIsLaunchedWhileALiveWorkerHasAFreeSlot() {
        var leader = LeaderHarness()
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 1, hosted: 9)]))
        let actions = leader.send(.placeRequested(.test("a")))
        #expect(actions.reserved == ["a"])
        #expect(actions.launched == 0)
    }

    @Test func waitingAgentsArePlacedInArrivalOrderWhenAWorkerJoins() {
        var leader = LeaderHarness(limits: .test(slots: 2))
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 0, hosted: 2)]))
        for id in ["a", "b", "c"] { leader.send(.placeRequested(.test(id))) }
        #expect(leader.machine.waitingAgents == ["a", "b", "c"])
        let actions = leader.send(.workerRegistered(processID: "w2"))
        #expect(actions.reserved == ["a", "b"])
        leader.send(.reserveFinished(agentID: "a", .placed(processID: "w2")))
        leader.send(.reserveFinished(agentID: "b", .noFreeSlot))
        // b stays ahead of c.
        #expect(leader.machine.waitingAgents == ["b", "c"])
    }

    @Test func aStartNeverConfirmedIsPlacedAgainAfterTheStartTimeout() {
        var leader = LeaderHarness()
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 10)]))
        leader.send(.placeRequested(.test("a")))
        leader.send(.reserveFinished(agentID: "a", .placed(processID: "w1")))
        leader.advance(.seconds(14))
        #expect(leader.send(.tick).reserved.isEmpty)
        leader.send(.snapshotFailed)
        leader.advance(.seconds(2))
        #expect(leader.send(.tick).reserved == ["a"])
    }

    @Test func aFailedReserveWaitsForTheNextTick() {
        var leader = LeaderHarness()
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 10)]))
        leader.send(.placeRequested(.test("a")))
        #expect(leader.send(.reserveFinished(agentID: "a", .failed)).reserved.isEmpty)
        #expect(leader.send(.tick).reserved == ["a"])
    }

    @Test func theWaitingListIsBoundedForFreshSpawns() {
        var leader = LeaderHarness(launcher: .external) { $0.waitingLimit = 2 }
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 0, hosted: 10)]))
        leader.send(.placeRequested(.test("a")))
        leader.send(.placeRequested(.test("b")))
        #expect(leader.send(.placeRequested(.test("c"))).refused == ["c"])
    }
}
