@testable import Postgres
import Testing

/// The poller's bookkeeping without sockets or a clock: instants are made from one start.
@Suite("Poller bookkeeping")
struct PollerBookTests {
    let start = ContinuousClock.now

    /// Registers `fd`, failing the test when the book refuses.
    func register(_ book: inout PollerBook<String>, _ fd: Int32) throws -> UInt32 {
        let generation = book.register(fd: fd)
        return try #require(generation)
    }

    @Test("a wait arms its socket and is resumed once by a matching event")
    func readyOnce() throws {
        var book = PollerBook<String>()
        let generation = try register(&book, 7)
        let action = book.wait(
            fd: 7, events: .readable, deadline: start + .seconds(1), token: 1, waiter: "a", isCancelled: false, now: start)
        guard case .arm(let armed, let wake) = action else {
            Issue.record("expected arm, got \(action)")
            return
        }
        #expect(armed == ArmedSocket(fd: 7, generation: generation, events: .readable))
        #expect(wake, "a poller that never slept yet is woken")
        do {
            let value = book.ready(fd: 7, generation: generation, events: .readable)
            #expect(value.map(\.0) == "a")
        }
        do {
            let value = book.ready(fd: 7, generation: generation, events: .readable)
            #expect(value == nil, "resumed twice")
        }
        #expect(book.waitingCount == 0)
    }

    @Test("an event for an old generation of a reused descriptor is ignored")
    func staleGeneration() throws {
        var book = PollerBook<String>()
        let old = try register(&book, 5)
        do {
            let value = book.unregister(fd: 5)
            #expect(value == nil)
        }
        let new = try register(&book, 5)
        #expect(old != new)
        _ = book.wait(fd: 5, events: .readable, deadline: start + .seconds(1), token: 1, waiter: "new", isCancelled: false, now: start)
        do {
            let value = book.ready(fd: 5, generation: old, events: .readable)
            #expect(value == nil)
        }
        do {
            let value = book.ready(fd: 5, generation: new, events: .readable)
            #expect(value.map(\.0) == "new")
        }
    }

    @Test("registering a descriptor twice is refused")
    func doubleRegistration() {
        var book = PollerBook<String>()
        do {
            let value = book.register(fd: 3)
            #expect(value != nil)
        }
        do {
            let value = book.register(fd: 3)
            #expect(value == nil)
        }
    }

    @Test("waits that cannot start end at once: unregistered, cancelled, past the deadline")
    func immediateOutcomes() throws {
        var book = PollerBook<String>()
        let deadline = start + .seconds(1)
        func outcome(_ action: PollerBook<String>.WaitAction) -> PollerOutcome? {
            if case .resume(let outcome) = action { return outcome }
            return nil
        }
        do {
            let value = outcome(book.wait(fd: 9, events: .readable, deadline: deadline, token: 1, waiter: "x", isCancelled: false, now: start))
            #expect(value == .closed)
        }
        _ = try register(&book, 9)
        do {
            let value = outcome(book.wait(fd: 9, events: .readable, deadline: deadline, token: 2, waiter: "x", isCancelled: true, now: start))
            #expect(value == .cancelled)
        }
        do {
            let value = outcome(book.wait(fd: 9, events: .readable, deadline: start, token: 3, waiter: "x", isCancelled: false, now: start))
            #expect(value == .timedOut)
        }
        #expect(book.waitingCount == 0)
    }

    @Test("deadlines: the sleep lasts until the earliest, expired waiters come out, later ones stay")
    func deadlines() throws {
        var book = PollerBook<String>()
        for fd: Int32 in 1...3 { _ = try register(&book, fd) }
        do {
            let value = book.sleep(now: start)
            #expect(value == 1000, "idle: wake once a second")
        }
        _ = book.wait(fd: 1, events: .readable, deadline: start + .milliseconds(300), token: 1, waiter: "late", isCancelled: false, now: start)
        _ = book.wait(fd: 2, events: .readable, deadline: start + .milliseconds(100), token: 2, waiter: "early", isCancelled: false, now: start)
        do {
            let value = book.sleep(now: start)
            #expect(value == 100)
        }
        #expect(book.sleepingUntil == start + .milliseconds(100))
        // A later deadline need not wake a poller that sleeps towards an earlier one.
        let later = book.wait(fd: 3, events: .writable, deadline: start + .seconds(5), token: 3, waiter: "much later", isCancelled: false, now: start)
        guard case .arm(_, let wake) = later else {
            Issue.record("expected arm, got \(later)")
            return
        }
        #expect(!wake)
        do {
            let value = book.sleep(now: start + .microseconds(99_500))
            #expect(value == 1, "rounded up, never 0 before the deadline")
        }
        do {
            let value = book.expire(now: start + .milliseconds(100))
            #expect(value == ["early"])
        }
        do {
            let value = book.expire(now: start + .milliseconds(300))
            #expect(value == ["late"])
        }
        do {
            let value = book.sleep(now: start + .milliseconds(300))
            #expect(value == 1000, "a deadline 4.7 s away: wake after the longest sleep and look again")
        }
        #expect(book.waitingCount == 1)
    }

    @Test("a deadline before the poller's next wake-up wakes it")
    func earlierDeadlineWakes() throws {
        var book = PollerBook<String>()
        _ = try register(&book, 1)
        _ = try register(&book, 2)
        _ = book.wait(fd: 1, events: .readable, deadline: start + .seconds(5), token: 1, waiter: "a", isCancelled: false, now: start)
        _ = book.sleep(now: start)
        let earlier = book.wait(fd: 2, events: .readable, deadline: start + .milliseconds(500), token: 2, waiter: "b", isCancelled: false, now: start)
        guard case .arm(_, let wake) = earlier else {
            Issue.record("expected arm, got \(earlier)")
            return
        }
        #expect(wake)
    }

    @Test("cancel takes out its own waiter once; unregister hands back a waiter to close")
    func cancelAndUnregister() throws {
        var book = PollerBook<String>()
        let generation = try register(&book, 4)
        _ = try register(&book, 6)
        _ = book.wait(fd: 4, events: .readable, deadline: start + .seconds(1), token: 10, waiter: "cancelled", isCancelled: false, now: start)
        _ = book.wait(fd: 6, events: .readable, deadline: start + .seconds(1), token: 11, waiter: "closed", isCancelled: false, now: start)
        do {
            let value = book.cancel(token: 99)
            #expect(value == nil)
        }
        do {
            let value = book.cancel(token: 10)
            #expect(value == "cancelled")
        }
        do {
            let value = book.cancel(token: 10)
            #expect(value == nil)
        }
        do {
            let value = book.ready(fd: 4, generation: generation, events: .readable)
            #expect(value == nil, "a cancelled waiter was resumed again")
        }
        do {
            let value = book.unregister(fd: 6)
            #expect(value == "closed")
        }
        do {
            let value = book.cancel(token: 11)
            #expect(value == nil)
        }
        do {
            let value = book.expire(now: start + .seconds(2))
            #expect(value.isEmpty)
        }
        #expect(book.registeredCount == 1)
    }

    @Test("an error report without events resumes with what was waited for")
    func errorReport() throws {
        var book = PollerBook<String>()
        let generation = try register(&book, 8)
        _ = book.wait(fd: 8, events: [.readable, .writable], deadline: start + .seconds(1), token: 1, waiter: "a", isCancelled: false, now: start)
        #expect(book.armed == [ArmedSocket(fd: 8, generation: generation, events: [.readable, .writable])])
        do {
            let value = book.ready(fd: 8, generation: generation, events: [])
            #expect(value.map(\.1) == [.readable, .writable])
        }
    }
}
