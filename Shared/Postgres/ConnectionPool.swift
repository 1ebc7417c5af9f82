import EventLoopExecution
import Reconnect
import Synchronization

/// Moves a `PostgresConnection` between tasks. Safe because the pool hands each connection
/// to one lease at a time, and a lease uses it from one task.
struct PooledConnection: @unchecked Sendable {
    let connection: PostgresConnection
}

/// The bookkeeping of `PostgresClient`'s connections: who may use which, who waits, and
/// when to stop opening new ones. It never calls libpq; the client does that.
final class ConnectionPool: Sendable {
    /// What a caller received: an idle connection, or the right to open a new one.
    enum Lease: Sendable {
        case reuse(PooledConnection)
        case open
    }

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Lease, any Error>
        /// Fails the waiter at its deadline; cancelled when the waiter is served first.
        var timer: Task<Void, Never>?

        /// Resumes the caller (exactly once: the waiter was just taken out of the queue).
        func resume(with result: Result<Lease, PostgresError>) {
            timer?.cancel()
            continuation.resume(with: result.mapError { $0 as any Error })
        }
    }

    private struct State {
        var idle: [PooledConnection] = []
        /// Connections that exist or are being opened: idle ones plus those lent out.
        var open = 0
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        var isClosed = false
        var window = ConnectWindow()
        /// Callers of `drained()`, resumed once the pool is closed and `open` reaches 0.
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// The most connections open at once.
    let capacity: Int
    /// The longest a caller waits for a connection while all are busy.
    let waitTimeout: Duration
    private let state = Mutex(State())

    init(capacity: Int, waitTimeout: Duration = .seconds(5)) {
        precondition(capacity >= 1, "a pool needs at least one connection")
        self.capacity = capacity
        self.waitTimeout = waitTimeout
    }

    /// Waits (without blocking a thread) until a connection or an opening is free, at most
    /// `waitTimeout`; then fails with `.poolTimeout` rather than queueing forever behind
    /// connections that a hung server holds.
    func acquire() async throws(PostgresError) -> Lease {
        do {
            return try await acquireOrWait()
        } catch let error as PostgresError {
            throw error
        } catch {
            throw PostgresError(code: .cancelled, message: "Cancelled while waiting for a connection.")
        }
    }

    private func acquireOrWait() async throws -> Lease {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                let immediate: Result<Lease, PostgresError>? = state.withLock { state in
                    if state.isClosed { return .failure(Self.shutdownError) }
                    if let connection = state.idle.popLast() { return .success(.reuse(connection)) }
                    if state.open < self.capacity {
                        if let error = Self.backoffError(state.window) { return .failure(error) }
                        state.open += 1
                        return .success(.open)
                    }
                    // Checked under the lock: the cancel handler takes it too, so a cancel
                    // either sees this waiter or we see the cancel here.
                    if Task.isCancelled { return .failure(Self.cancelledError) }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let immediate {
                    continuation.resume(with: immediate)
                } else {
                    startTimer(forWaiter: id)
                }
            }
        } onCancel: {
            removeWaiter(id)?.resume(with: .failure(Self.cancelledError))
        }
    }

    /// Arms the deadline of a queued waiter. Only callers that really queue pay for a timer
    /// task; the waiter may already be served when the timer is attached, then it is dropped.
    private func startTimer(forWaiter id: Int) {
        let timer = Task { [self] in
            do {
                try await Task.sleep(for: waitTimeout, clock: .eventLoop)
            } catch {
                return  // served (or cancelled) before the deadline
            }
            removeWaiter(id)?.resume(with: .failure(timeoutError()))
        }
        let attached = state.withLock { state -> Bool in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return false }
            state.waiters[index].timer = timer
            return true
        }
        if !attached { timer.cancel() }
    }

    /// Takes a waiter out of the queue, if it is still there.
    private func removeWaiter(_ id: Int) -> Waiter? {
        state.withLock { state in
            state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0) }
        }
    }

    private func timeoutError() -> PostgresError {
        PostgresError(
            code: .poolTimeout,
            message: "No PostgreSQL connection became free within \(waitTimeout) (DB_POOL_TIMEOUT): all "
                + "\(capacity) are busy (DB_POOL_SIZE), so the statement was not sent. Slow or hung statements "
                + "hold them; check the database, or raise DB_POOL_SIZE.")
    }

    /// Returns once the pool is closed and every connection it lent came back (as a closed
    /// connection's freed slot); `close()` must have been called.
    func drained() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                guard state.isClosed, state.open > 0 else { return true }
                state.drainWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// The drain waiters to resume now that a slot was freed, if that was the last one.
    private static func drainedWaiters(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        guard state.isClosed, state.open == 0 else { return [] }
        defer { state.drainWaiters.removeAll() }
        return state.drainWaiters
    }

    /// Takes back a healthy connection after a lease. Returns false when the pool is closed:
    /// the caller must then close the connection itself.
    func release(_ connection: PooledConnection) -> Bool {
        let outcome: (kept: Bool, waiter: Waiter?, drained: [CheckedContinuation<Void, Never>]) = state.withLock { state in
            if state.isClosed {
                state.open -= 1
                return (false, nil, Self.drainedWaiters(&state))
            }
            if !state.waiters.isEmpty { return (true, state.waiters.removeFirst(), []) }
            state.idle.append(connection)
            return (true, nil, [])
        }
        outcome.waiter?.resume(with: .success(.reuse(connection)))
        for waiter in outcome.drained { waiter.resume() }
        return outcome.kept
    }

    /// Frees the slot of a connection that was closed or never opened. The next waiter may
    /// open a new one; while connects back off, every waiter fails fast instead.
    func releaseSlot() {
        typealias Outcome = (served: Waiter?, failed: [Waiter], error: PostgresError?, drained: [CheckedContinuation<Void, Never>])
        let outcome: Outcome = state.withLock { state in
            state.open -= 1
            guard !state.waiters.isEmpty, !state.isClosed else { return (nil, [], nil, Self.drainedWaiters(&state)) }
            if let error = Self.backoffError(state.window) {
                defer { state.waiters.removeAll() }
                return (nil, state.waiters, error, [])
            }
            state.open += 1
            return (state.waiters.removeFirst(), [], nil, [])
        }
        outcome.served?.resume(with: .success(.open))
        if let error = outcome.error {
            for waiter in outcome.failed { waiter.resume(with: .failure(error)) }
        }
        for waiter in outcome.drained { waiter.resume() }
    }

    /// Records the outcome of a connect attempt for the backoff.
    func recordConnect(failure: PostgresError?) {
        state.withLock { state in
            if let failure {
                state.window.recordFailure(message: failure.message, at: .now)
            } else {
                state.window.recordSuccess()
            }
        }
    }

    /// Stops lending: fails every waiter with `.shutdown` and returns the idle connections,
    /// which the caller must close. Connections lent out are closed when they come back.
    func close() -> [PooledConnection] {
        let (idle, waiters) = state.withLock { state in
            state.isClosed = true
            defer {
                state.open -= state.idle.count
                state.idle.removeAll()
                state.waiters.removeAll()
            }
            return (state.idle, state.waiters)
        }
        for waiter in waiters { waiter.resume(with: .failure(Self.shutdownError)) }
        return idle
    }

    private static func backoffError(_ backoff: ConnectWindow) -> PostgresError? {
        let now = ContinuousClock.now
        guard backoff.isWaiting(at: now), let retryAt = backoff.retryAt else { return nil }
        let milliseconds = Int(((retryAt - now) / .milliseconds(1)).rounded(.up))
        return PostgresError(
            code: .connection,
            message: "Not connecting for another \(milliseconds) ms after a failed connect: "
                + (backoff.lastMessage ?? "unknown error"))
    }

    private static let shutdownError = PostgresError(code: .shutdown, message: "The PostgreSQL client is closed.")
    private static let cancelledError = PostgresError(code: .cancelled, message: "Cancelled while waiting for a connection.")
}
