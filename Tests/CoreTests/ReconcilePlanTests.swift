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
}
