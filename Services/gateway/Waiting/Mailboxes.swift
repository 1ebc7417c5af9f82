import Synchronization

/// What a worker or manager announced about an agent.
enum AgentOutcome: Sendable, Equatable {
    /// Runs on `processID`; `updatedAt` is the row's `updated_at` after the worker recorded
    /// that, when the worker said (see `AgentEvent.updatedAt`).
    case started(processID: String, updatedAt: String?)
    /// Stopped for good; `updatedAt` as for `started`.
    case stopped(updatedAt: String?)
    /// `refused` marks the manager's capacity refusals (pool at `max_workers` and full).
    case failed(reason: String, refused: Bool)
}

/// Lets request handlers wait for an agent's next announced outcome, with a time limit.
/// An outcome that arrives before anyone waits is kept for the handlers that declared
/// interest, so nothing slips between publishing a request and starting to wait.
///
/// A lock rather than an actor, and one sweeper rather than a timer per wait: every spawn
/// and terminate waits here, and each wait used to cost two actor hops, a timer task and its
/// cancellation, plus a task to end the interest (`perf` showed dispatch's timer heap in the
/// gateway's profile). Time limits hold to within ``sweepInterval``, ample for the 500 ms
/// poll they bound.
final class AgentOutcomes: Sendable {
    private struct Waiter {
        var continuation: CheckedContinuation<AgentOutcome?, Never>
        var deadline: ContinuousClock.Instant
    }

    private struct Slot {
        var interest = 0
        var buffered: AgentOutcome?
        var waiters: [Int: Waiter] = [:]
    }

    private struct State {
        var slots: [String: Slot] = [:]
        var nextToken = 0
        var waiting = 0
        var sweeperRunning = false
    }

    /// How often the sweeper gives up on waits whose time is up.
    static let sweepInterval: Duration = .milliseconds(50)

    private let state = Mutex(State())

    /// Declares interest in `agentID`'s outcomes; pair with `endInterest`.
    func beginInterest(_ agentID: String) {
        state.withLock { $0.slots[agentID, default: Slot()].interest += 1 }
    }

    func endInterest(_ agentID: String) {
        state.withLock { state in
            guard var slot = state.slots[agentID] else { return }
            slot.interest -= 1
            state.slots[agentID] = slot.interest <= 0 && slot.waiters.isEmpty ? nil : slot
        }
    }

    /// Hands an announced outcome to the handlers interested in it.
    func deliver(_ outcome: AgentOutcome, for agentID: String) {
        let woken: [CheckedContinuation<AgentOutcome?, Never>] = state.withLock { state in
            guard var slot = state.slots[agentID] else { return [] }
            defer { state.slots[agentID] = slot }
            guard !slot.waiters.isEmpty else {
                slot.buffered = outcome
                return []
            }
            let woken = slot.waiters.values.map(\.continuation)
            state.waiting -= woken.count
            slot.waiters.removeAll()
            return woken
        }
        for continuation in woken { continuation.resume(returning: outcome) }
    }

    /// The next outcome for `agentID`, or nil when none came within `limit`.
    func next(for agentID: String, within limit: Duration) async -> AgentOutcome? {
        let deadline = ContinuousClock.now + limit
        return await withCheckedContinuation { continuation in
            let (buffered, startSweeper) = state.withLock { state -> (AgentOutcome?, Bool) in
                if let buffered = state.slots[agentID]?.buffered {
                    state.slots[agentID]?.buffered = nil
                    return (buffered, false)
                }
                state.nextToken += 1
                state.slots[agentID, default: Slot()].waiters[state.nextToken] = Waiter(continuation: continuation, deadline: deadline)
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
            try? await Task.sleep(for: Self.sweepInterval)
            let now = ContinuousClock.now
            let (expired, keepGoing) = state.withLock { state -> ([CheckedContinuation<AgentOutcome?, Never>], Bool) in
                var expired: [CheckedContinuation<AgentOutcome?, Never>] = []
                for (agentID, var slot) in state.slots {
                    let due = slot.waiters.filter { $0.value.deadline <= now }
                    guard !due.isEmpty else { continue }
                    for token in due.keys { slot.waiters[token] = nil }
                    expired += due.values.map(\.continuation)
                    state.slots[agentID] = slot.interest <= 0 && slot.waiters.isEmpty ? nil : slot
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
