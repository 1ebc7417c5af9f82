import Foundation
import PoolCore
import Testing

@Suite struct TaskLaneScheduleTests {
    let now = Date(timeIntervalSince1970: 1_000_000)

    @Test func nothingStartsBeforePostgreSQLWasReadOnce() {
        var schedule = TaskLaneSchedule(concurrency: 1)
        #expect(schedule.delivered(taskID: "a", seq: 1) == .needsRefresh)
        #expect(schedule.next(now: now) == .idle)
        schedule.refreshed(queued: [("a", 1, nil)], highestSeq: 1)
        #expect(schedule.next(now: now) == .start(taskID: "a"))
    }

    @Test func tasksStartBySeqOneAtATime() {
        var schedule = TaskLaneSchedule(concurrency: 1)
        schedule.refreshed(queued: [], highestSeq: 0)
        #expect(schedule.delivered(taskID: "a", seq: 1) == .queued)
        #expect(schedule.delivered(taskID: "b", seq: 2) == .queued)
        #expect(schedule.delivered(taskID: "a", seq: 1) == .known)
        #expect(schedule.next(now: now) == .start(taskID: "a"))
        schedule.started(taskID: "a")
        #expect(schedule.next(now: now) == .idle)
        schedule.ended(taskID: "a")
        #expect(schedule.next(now: now) == .start(taskID: "b"))
    }

    @Test func aDeliveryOutOfOrderAsksForARefreshInsteadOfOvertaking() {
        var schedule = TaskLaneSchedule(concurrency: 2)
        schedule.refreshed(queued: [], highestSeq: 4)
        // Task 6 arrives before task 5: starting it would break the order.
        #expect(schedule.delivered(taskID: "six", seq: 6) == .needsRefresh)
        #expect(schedule.next(now: now) == .idle)
        schedule.refreshed(queued: [("five", 5, nil), ("six", 6, nil)], highestSeq: 6)
        #expect(schedule.next(now: now) == .start(taskID: "five"))
        schedule.started(taskID: "five")
        #expect(schedule.next(now: now) == .start(taskID: "six"))
        schedule.started(taskID: "six")
        #expect(schedule.next(now: now) == .idle)
        #expect(schedule.delivered(taskID: "five", seq: 5) == .known)
    }

    @Test func aTaskInBackoffKeepsItsPlace() {
        var schedule = TaskLaneSchedule(concurrency: 3)
        schedule.refreshed(queued: [("a", 1, nil), ("b", 2, nil)], highestSeq: 2)
        schedule.started(taskID: "a")
        schedule.ended(taskID: "a", requeued: (1, now + 4))
        // "b" does not overtake "a" while "a" waits out its backoff.
        #expect(schedule.next(now: now) == .wait(until: now + 4))
        #expect(schedule.next(now: now + 5) == .start(taskID: "a"))
    }

    @Test func aRefreshKeepsRunningTasksOutOfTheQueue() {
        var schedule = TaskLaneSchedule(concurrency: 1)
        schedule.refreshed(queued: [("a", 1, nil)], highestSeq: 1)
        schedule.started(taskID: "a")
        schedule.refreshed(queued: [("a", 1, nil), ("b", 2, nil)], highestSeq: 2)
        #expect(schedule.running == ["a"])
        #expect(schedule.next(now: now) == .idle)
        schedule.ended(taskID: "a")
        #expect(schedule.next(now: now) == .start(taskID: "b"))
    }

    @Test func aSweepReadBeforeADeliveryKeepsTheDeliveredTask() {
        var schedule = TaskLaneSchedule(concurrency: 1)
        schedule.refreshed(queued: [("a", 1, nil)], highestSeq: 1)
        schedule.started(taskID: "a")
        #expect(schedule.delivered(taskID: "b", seq: 2) == .queued)
        // A sweep that read PostgreSQL before "b" was accepted knows only "a".
        schedule.refreshed(queued: [], highestSeq: 1)
        schedule.ended(taskID: "a")
        #expect(schedule.next(now: now) == .start(taskID: "b"))
    }

    @Test func invalidatingHoldsEverythingUntilTheNextRefresh() {
        var schedule = TaskLaneSchedule(concurrency: 1)
        schedule.refreshed(queued: [("a", 1, nil)], highestSeq: 1)
        schedule.invalidate()
        #expect(schedule.next(now: now) == .idle)
        #expect(schedule.delivered(taskID: "b", seq: 2) == .needsRefresh)
        schedule.refreshed(queued: [("b", 2, nil)], highestSeq: 2)
        #expect(schedule.next(now: now) == .start(taskID: "b"))
    }
}
