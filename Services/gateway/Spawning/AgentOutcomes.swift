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
actor AgentOutcomes {
    private struct Slot {
        var interest = 0
        var buffered: AgentOutcome?
        var waiters: [Int: Waiter] = [:]
    }

    /// A waiting handler and the timer that gives up on its behalf; the timer is cancelled
    /// when the outcome comes first, so confirmed spawns leave no sleeping task behind.
    private struct Waiter {
        var continuation: CheckedContinuation<AgentOutcome?, Never>
        var timer: Task<Void, Never>
    }

    private var slots: [String: Slot] = [:]
    private var nextToken = 0

    /// Declares interest in `agentID`'s outcomes; pair with `endInterest`.
    func beginInterest(_ agentID: String) {
        slots[agentID, default: Slot()].interest += 1
    }

    func endInterest(_ agentID: String) {
        guard var slot = slots[agentID] else { return }
        slot.interest -= 1
        slots[agentID] = slot.interest <= 0 && slot.waiters.isEmpty ? nil : slot
    }

    /// Hands an announced outcome to the handlers interested in it.
    func deliver(_ outcome: AgentOutcome, for agentID: String) {
        guard var slot = slots[agentID] else { return }
        if slot.waiters.isEmpty {
            slot.buffered = outcome
        } else {
            for waiter in slot.waiters.values {
                waiter.timer.cancel()
                waiter.continuation.resume(returning: outcome)
            }
            slot.waiters.removeAll()
        }
        slots[agentID] = slot
    }

    /// The next outcome for `agentID`, or nil when none came within `limit`.
    func next(for agentID: String, within limit: Duration) async -> AgentOutcome? {
        if let buffered = slots[agentID]?.buffered {
            slots[agentID]?.buffered = nil
            return buffered
        }
        nextToken += 1
        let token = nextToken
        return await withCheckedContinuation { continuation in
            let timer = Task {
                // Cancelled when the outcome arrives; then `expire` finds nothing to do.
                try? await Task.sleep(for: limit)
                self.expire(agentID, token)
            }
            slots[agentID, default: Slot()].waiters[token] = Waiter(continuation: continuation, timer: timer)
        }
    }

    private func expire(_ agentID: String, _ token: Int) {
        guard let waiter = slots[agentID]?.waiters.removeValue(forKey: token) else { return }
        waiter.continuation.resume(returning: nil)
        if let slot = slots[agentID], slot.interest <= 0, slot.waiters.isEmpty { slots[agentID] = nil }
    }
}
