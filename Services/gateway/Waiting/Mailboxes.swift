import EventLoopExecution
import Synchronization

/// Lets request handlers wait for the next message announced about one thing (an agent's
/// outcome, a task's update), with a time limit. A message that arrives before anyone waits
/// is kept (the latest one) for the handlers that declared interest, so nothing slips between
/// asking for a change and starting to wait.
///
/// A lock rather than an actor, and one sweeper rather than a timer per wait: every spawn
/// and terminate waits here, and each wait used to cost two actor hops, a timer task and its
/// cancellation, plus a task to end the interest (`perf` showed dispatch's timer heap in the
/// gateway's profile). Time limits hold to within ``sweepInterval``, ample for the 500 ms
/// poll they bound.
final class Mailboxes<Message: Sendable>: Sendable {
    private struct Waiter {
        var continuation: CheckedContinuation<Message?, Never>
        var deadline: ContinuousClock.Instant
    }

    private struct Slot {
        var interest = 0
        var buffered: Message?
        var waiters: [Int: Waiter] = [:]
    }

    private struct State {
        var slots: [String: Slot] = [:]
        var nextToken = 0
        var waiting = 0
        var sweeperRunning = false
    }

    /// How often the sweeper gives up on waits whose time is up.
    static var sweepInterval: Duration { .milliseconds(50) }

    private let state = Mutex(State())

    /// Declares interest in `key`'s messages; pair with `endInterest`.
    func beginInterest(_ key: String) {
        state.withLock { $0.slots[key, default: Slot()].interest += 1 }
    }

    func endInterest(_ key: String) {
        state.withLock { state in
            guard var slot = state.slots[key] else { return }
            slot.interest -= 1
            state.slots[key] = slot.interest <= 0 && slot.waiters.isEmpty ? nil : slot
        }
    }

    /// Hands an announced message to the handlers interested in it.
    func deliver(_ message: Message, for key: String) {
        let woken: [CheckedContinuation<Message?, Never>] = state.withLock { state in
            guard var slot = state.slots[key] else { return [] }
            defer { state.slots[key] = slot }
            guard !slot.waiters.isEmpty else {
                slot.buffered = message
                return []
            }
            // A closure, not `\.continuation`: in generic code a key path is built anew on each call.
            let woken = slot.waiters.values.map { $0.continuation }
            state.waiting -= woken.count
            slot.waiters.removeAll()
            return woken
        }
        for continuation in woken { continuation.resume(returning: message) }
    }

    /// The next message for `key`, or nil when none came within `limit`.
    func next(for key: String, within limit: Duration) async -> Message? {
        let deadline = ContinuousClock.now + limit
        return await withCheckedContinuation { continuation in
            let (buffered, startSweeper) = state.withLock { state -> (Message?, Bool) in
                if let buffered = state.slots[key]?.buffered {
                    state.slots[key]?.buffered = nil
                    return (buffered, false)
                }
                state.nextToken += 1
                state.slots[key, default: Slot()].waiters[state.nextToken] = Waiter(continuation: continuation, deadline: deadline)
                state.waiting += 1
                defer { state.sweeperRunning = true }
                return (nil, !state.sweeperRunning)
            }
            if let buffered { continuation.resume(returning: buffered) }
            if startSweeper { Task { await self.sweep() } }
        }
    }

    /// Ends the waits whose time is up, every ``sweepInterval``, until nobody waits.
    private func sweep() async {
        while true {
            try? await Task.sleep(for: Self.sweepInterval, clock: .eventLoop)
            let now = ContinuousClock.now
            let (expired, keepGoing) = state.withLock { state -> ([CheckedContinuation<Message?, Never>], Bool) in
                var expired: [CheckedContinuation<Message?, Never>] = []
                for (key, var slot) in state.slots {
                    let due = slot.waiters.filter { $0.value.deadline <= now }
                    guard !due.isEmpty else { continue }
                    for token in due.keys { slot.waiters[token] = nil }
                    expired += due.values.map { $0.continuation }
                    state.slots[key] = slot.interest <= 0 && slot.waiters.isEmpty ? nil : slot
                }
                state.waiting -= expired.count
                if state.waiting == 0 { state.sweeperRunning = false }
                return (expired, state.waiting > 0)
            }
            for continuation in expired { continuation.resume(returning: nil) }
            if !keepGoing { return }
        }
    }
}
