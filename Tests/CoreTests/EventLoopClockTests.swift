import EventLoopExecution
import Testing

@Suite("Sleeps on the event loops' timers")
struct EventLoopClockTests {
    @Test("a sleep lasts at least its duration", .timeLimit(.minutes(5)))
    func sleepsItsDuration() async throws {
        let started = ContinuousClock.now
        try await Task.sleep(for: .milliseconds(50), clock: .eventLoop)
        let slept = ContinuousClock.now - started
        print("a 50 ms sleep took \(slept)")
        // No upper bound: the unit stage runs the leader simulation beside this suite, and it
        // can hold every thread of the test process's executor for a minute (a fresh-clone run
        // saw this sleep end after 57 s). A sleep that never ends fails the time limit.
        #expect(slept >= .milliseconds(50))
    }

    @Test("a deadline already passed returns at once, without error")
    func pastDeadline() async throws {
        try await EventLoopClock().sleep(until: .now - .seconds(1))
    }

    @Test("cancelling a long sleep ends it at once with CancellationError")
    func cancelEndsTheSleep() async throws {
        let sleeper = Task { () -> (any Error)? in
            do {
                try await Task.sleep(for: .seconds(600), clock: .eventLoop)
                return nil
            } catch {
                return error
            }
        }
        try await Task.sleep(for: .milliseconds(20))
        let cancelled = ContinuousClock.now
        sleeper.cancel()
        let error = await sleeper.value
        print("a cancelled sleep ended \(ContinuousClock.now - cancelled) after the cancel")
        #expect(error is CancellationError)
    }

    @Test("a task cancelled before it sleeps does not sleep")
    func cancelledBefore() async throws {
        let sleeper = Task { () -> (any Error)? in
            withUnsafeCurrentTask { $0?.cancel() }
            do {
                try await Task.sleep(for: .seconds(600), clock: .eventLoop)
                return nil
            } catch {
                return error
            }
        }
        #expect(await sleeper.value is CancellationError)
    }

    @Test("many sleeps racing their cancellation each end exactly once", .timeLimit(.minutes(5)))
    func racingCancellations() async throws {
        // A lost continuation would hang the group (and fail the time limit); a doubly
        // resumed one would crash.
        let outcomes = await withTaskGroup(of: (index: Int, slept: Bool).self) { group in
            for index in 0..<500 {
                group.addTask {
                    let sleep = Task { try await Task.sleep(for: .microseconds(index % 50), clock: .eventLoop) }
                    if index.isMultiple(of: 2) { sleep.cancel() }
                    do {
                        try await sleep.value
                        return (index, true)
                    } catch {
                        return (index, false)
                    }
                }
            }
            return await group.reduce(into: [(index: Int, slept: Bool)]()) { $0.append($1) }
        }
        #expect(outcomes.count == 500)
        // Only the cancelled ones may have ended early.
        #expect(outcomes.filter { !$0.slept }.allSatisfy { $0.index.isMultiple(of: 2) })
        print("of 250 cancelled sleeps, \(outcomes.filter { !$0.slept }.count) ended by the cancel")
    }
}
