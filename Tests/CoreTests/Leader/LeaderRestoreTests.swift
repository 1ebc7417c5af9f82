import PoolCore
import PoolProtocol
import Testing

/// Restoring after a restart, and leadership ending.
@Suite struct LeaderRestoreTests {
    let rows = (0..<200).map { LeaderSnapshot.Row.row("r\(1000 + $0)", confirmed: true) }

    @Test func atMost64UnconfirmedStartsAndConfirmationsPullInTheRest() {
        var leader = LeaderHarness(limits: .test(slots: 100, maxWorkers: 3))
        let workers = { (leader: LeaderHarness) in (0..<3).map { leader.worker("w\($0)", free: 100) } }
        leader.send(.leadershipStarted)
        let first = leader.send(.snapshotRead(leader.snapshot(workers: workers(leader), shouldRun: rows)))
        #expect(first.reserved.count == 64)
        #expect(leader.machine.restoreBacklog == 136)
        for agentID in first.reserved { leader.send(.reserveFinished(agentID: agentID, .placed(processID: "w0"))) }
        var asked = false
        for agentID in first.reserved.prefix(32) {
            asked = leader.send(.agentStarted(agentID: agentID, processID: "w0")).contains(.readSnapshot) || asked
        }
        #expect(asked)
        let placed = Dictionary(uniqueKeysWithValues: first.reserved.prefix(32).map { ($0, "w0") })
        let second = leader.send(.snapshotRead(leader.snapshot(workers: workers(leader), placements: placed, shouldRun: rows)))
        #expect(second.reserved.count == 32)
        #expect(Set(second.reserved).isDisjoint(with: first.reserved))
    }

    @Test func underAnExternalLauncher64WaitingDoNotStallTheRest() {
        var leader = LeaderHarness(launcher: .external)
        leader.send(.leadershipStarted)
        let first = leader.send(.snapshotRead(leader.snapshot(shouldRun: rows)))
        // No worker yet: 64 wait, the rest stay in PostgreSQL, and all of them count toward
        // desired_workers so that the orchestrator starts enough.
        #expect(first.reserved.isEmpty)
        #expect(first.contains(.publishDesiredWorkers(10)))
        #expect(leader.machine.waitingAgents.count == 64)
        #expect(leader.machine.restoreBacklog == 136)
        // The orchestrator starts three workers: the first waiting are placed and confirmed...
        var placed: [String: String] = [:]
        for processID in ["w1", "w2", "w3"] {
            // Answer every reserve the machine sends: ten fit, the rest find no slot.
            var reserves = leader.send(.workerRegistered(processID: processID)).reserved
            var used = 0
            while !reserves.isEmpty {
                let agentID = reserves.removeFirst()
                guard used < 10 else {
                    reserves += leader.send(.reserveFinished(agentID: agentID, .noFreeSlot)).reserved
                    continue
                }
                used += 1
                placed[agentID] = processID
                reserves += leader.send(.reserveFinished(agentID: agentID, .placed(processID: processID))).reserved
                reserves += leader.send(.agentStarted(agentID: agentID, processID: processID)).reserved
            }
        }
        #expect(placed.count == 30)
        // ...and the next pass admits as many from the backlog: nothing stalls, nothing stampedes.
        leader.send(.tick)
        leader.send(.snapshotRead(leader.snapshot(
            workers: ["w1", "w2", "w3"].map { leader.worker($0, free: 0, hosted: 10) }, placements: placed, shouldRun: rows)))
        #expect(leader.machine.waitingAgents.count == 64)
        #expect(leader.machine.restoreBacklog == 106)
    }

    @Test func aLeaderThatLosesItsLeaseStepsDownAndDoesNothingMore() {
        var leader = LeaderHarness()
        leader.lead(with: leader.snapshot(workers: [leader.worker("w1", free: 10)]))
        leader.send(.placeRequested(.test("a")))
        #expect(leader.send(.leadershipLost) == [.stepDown])
        #expect(leader.send(.reserveFinished(agentID: "a", .placed(processID: "w1"))).isEmpty)
        #expect(leader.send(.tick).isEmpty)
        #expect(leader.send(.placeRequested(.test("b"))).isEmpty)
        #expect(!leader.machine.isLeading)
    }
}
