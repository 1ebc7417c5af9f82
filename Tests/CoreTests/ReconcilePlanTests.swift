import PoolCore
import Testing

@Suite struct ReconcilePlanTests {
    @Test func placesWhatShouldRunAndIsNotPlacedOrReserved() {
        let plan = ReconcilePlan.make(
            shouldRun: ["a", "b", "c"], placed: ["a": "w1"], reserved: ["b"], liveWorkers: ["w1"])
        #expect(plan.toPlace == ["c"])
        #expect(plan.toStop.isEmpty)
        #expect(plan.orphaned.isEmpty)
    }

    @Test func agentsOfDeadWorkersAreOrphanedAndPlacedAgain() {
        let plan = ReconcilePlan.make(
            shouldRun: ["a", "b"], placed: ["a": "dead", "b": "w1"], reserved: [], liveWorkers: ["w1"])
        #expect(plan.orphaned == [.init(agentID: "a", processID: "dead")])
        #expect(plan.toPlace == ["a"])
    }

    @Test func stopsWhatShouldNotRun() {
        let plan = ReconcilePlan.make(shouldRun: [], placed: ["a": "w1"], reserved: [], liveWorkers: ["w1"])
        #expect(plan.toStop == [.init(agentID: "a", processID: "w1")])
        #expect(plan.toPlace.isEmpty)
    }

    @Test func agreementMeansNothingToDo() {
        let plan = ReconcilePlan.make(shouldRun: ["a"], placed: ["a": "w1"], reserved: [], liveWorkers: ["w1"])
        #expect(plan.isEmpty)
    }

    typealias Registry = ReconcilePlan.Registry

    @Test func aHashWhoseWorkerDoesNotListTheAgentIsClearedAndTheAgentPlacedAgain() {
        let plan = ReconcilePlan.make(
            shouldRun: ["a"], registry: Registry(hashes: ["a": "w1"], hosted: ["w1": []]), reserved: [], liveWorkers: ["w1"])
        #expect(plan.unattributed == [.init(agentID: "a", processID: "w1")])
        #expect(plan.toPlace == ["a"])
    }

    @Test func anAgentAWorkerListsWithoutAHashIsRecordedThereNotPlacedAgain() {
        let plan = ReconcilePlan.make(
            shouldRun: ["a"], registry: Registry(hashes: [:], hosted: ["w1": ["a"], "w2": []]), reserved: [],
            liveWorkers: ["w1", "w2"])
        #expect(plan.unrecorded == [.init(agentID: "a", processID: "w1")])
        #expect(plan.toPlace.isEmpty)
    }

    @Test func aListedAgentWhoseHashNamesAWorkerThatDoesNotListItRunsWhereItIsListed() {
        let plan = ReconcilePlan.make(
            shouldRun: ["a"], registry: Registry(hashes: ["a": "w2"], hosted: ["w1": ["a"], "w2": []]), reserved: [],
            liveWorkers: ["w1", "w2"])
        #expect(plan.unattributed == [.init(agentID: "a", processID: "w2")])
        #expect(plan.unrecorded == [.init(agentID: "a", processID: "w1")])
        #expect(plan.toPlace.isEmpty)
    }

    @Test func anAgentListedByTwoWorkersKeepsItsRecordedOne() {
        let plan = ReconcilePlan.make(
            shouldRun: ["a"], registry: Registry(hashes: ["a": "w2"], hosted: ["w1": ["a"], "w2": ["a"]]), reserved: [],
            liveWorkers: ["w1", "w2"])
        #expect(plan.duplicates == [.init(agentID: "a", processID: "w1")])
        #expect(plan.toPlace.isEmpty && plan.unrecorded.isEmpty && plan.toStop.isEmpty)
    }

    @Test func aListedAgentThatShouldNotRunIsStoppedWhereItRuns() {
        let plan = ReconcilePlan.make(
            shouldRun: [], registry: Registry(hashes: [:], hosted: ["w1": ["a"]]), reserved: [], liveWorkers: ["w1"])
        #expect(plan.toStop == [.init(agentID: "a", processID: "w1")])
        #expect(plan.unrecorded.isEmpty)
    }
}
