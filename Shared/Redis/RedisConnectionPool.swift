import Logging
import NIOPosix
import Synchronization

/// Lends up to `size` connections, each used on one of the pool's own threads.
///
/// Connections are created lazily on the thread that first needs one, reused while
/// healthy, and dropped as soon as their context reports an error. After a failed connect,
/// new connections are refused for a backoff window (50 ms doubling to 2 s), so callers
/// get a fast `.connection` error during an outage instead of each waiting for a connect
/// timeout, and the pool recovers by itself when the window ends.
final class RedisConnectionPool: Sendable {
    /// One pool place: holds a connection, or is empty and may create one. Only the
    /// holder of the slot touches it, so handing it between tasks and threads is safe.
    final class Slot: @unchecked Sendable {
        var connection: RedisConnection?
    }

    /// A caller queued for a slot.
    private struct Waiter: Sendable {
        let id: UInt64
        let continuation: CheckedContinuation<Result<Slot, RedisError>, Never>
        /// Fails the waiter at its deadline; cancelled when the waiter is served first.
        var timer: Task<Void, Never>?

        /// Resumes the caller (exactly once: the waiter was just taken out of the queue).
        func resume(returning result: Result<Slot, RedisError>) {
            timer?.cancel()
            continuation.resume(returning: result)
        }
    }

    private struct State {
        var idle: [Slot] = []
        /// Slots that exist: lent out or idle.
        var open = 0
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var backoff = Backoff()
        var retryAfter: ContinuousClock.Instant?
        var lastConnectError: RedisError?
        /// Whether the last event was a success; log lines are emitted on changes only.
        var healthy = true
        var isShutdown = false
    }

    /// What happened on the pool thread, reported back by ``settle(_:_:)``.
    struct Report: Sendable {
        var connected = false
        var connectError: RedisError?
        var lostError: RedisError?
        var replacedStale = false
    }

    private let size: Int
    private let configuration: RedisConfiguration
    private let logger: Logger
    private let threads: NIOThreadPool
    private let state = Mutex(State())

    init(configuration: RedisConfiguration, size: Int, logger: Logger) {
        self.size = max(1, size)
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "redis"] = "\(configuration.redactedDescription)"
        self.logger = logger
        // One thread per connection: a lent slot always finds a free thread.
        threads = NIOThreadPool(numberOfThreads: self.size)
        threads.start()
    }

    /// Runs `body` with a connection on a pool thread. Connection-level failures drop the
    /// connection; nothing is retried, because the command may already have been sent.
    func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (RedisConnection) throws(RedisError) -> T
    ) async throws(RedisError) -> T {
        do {
            return try await lend(body)
        } catch {
            throw error.counted()
        }
    }

    private func lend<T: Sendable>(
        _ body: @escaping @Sendable (RedisConnection) throws(RedisError) -> T
    ) async throws(RedisError) -> T {
        let slot = try await acquire()
        let configuration = configuration
        let outcome: (Result<T, RedisError>, Report)
        do {
            outcome = try await threads.runIfActive { Self.run(body, in: slot, configuration: configuration) }
        } catch {
            // The closure never ran: the task was cancelled first, or close() stopped the threads.
            settle(slot, Report())
            throw error is CancellationError
                ? RedisError(.cancelled, "cancelled before the command was sent")
                : RedisError(.shutdown, "the Redis client is closed")
        }
        settle(slot, outcome.1)
        return try outcome.0.get()
    }

    /// Closes idle connections, fails waiters with `.shutdown` and stops the threads once
    /// running commands finish; their connections are closed when they come back.
    func close() async {
        let waiters: [Waiter]? = state.withLock { state in
            guard !state.isShutdown else { return nil }
            state.isShutdown = true
            for slot in state.idle { slot.connection?.close() }
            state.open -= state.idle.count
            state.idle = []
            defer { state.waiters = [] }
            return state.waiters
        }
        guard let waiters else { return }
        for waiter in waiters { waiter.resume(returning: .failure(Self.shutdownError)) }
        try? await threads.shutdownGracefully()
    }

    // MARK: - On a pool thread (blocking)

    private static func run<T>(
        _ body: (RedisConnection) throws(RedisError) -> T, in slot: Slot, configuration: RedisConfiguration
    ) -> (Result<T, RedisError>, Report) {
        var report = Report()
        if let idle = slot.connection, idle.isStale {
            // Closed by the server while idle (e.g. a Redis restart): replace it before sending.
            idle.close()
            slot.connection = nil
            report.replacedStale = true
        }
        let connection: RedisConnection
        if let existing = slot.connection {
            connection = existing
        } else {
            do {
                connection = try RedisConnection(configuration: configuration)
            } catch {
                report.connectError = error
                return (.failure(error), report)
            }
            slot.connection = connection
            report.connected = true
        }
        let result = Result { () throws(RedisError) in try body(connection) }
        if connection.isBroken {
            connection.close()
            slot.connection = nil
            if case .failure(let error) = result { report.lostError = error }
        }
        return (result, report)
    }

    // MARK: - Lending (never blocks a thread)

    private func acquire() async throws(RedisError) -> Slot {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Slot, RedisError>, Never>) in
                let immediate: Result<Slot, RedisError>? = state.withLock { state in
                    if state.isShutdown { return .failure(Self.shutdownError) }
                    if let slot = state.idle.popLast() { return .success(slot) }
                    if state.open < size {
                        if let refusal = refusal(state) { return .failure(refusal) }
                        state.open += 1
                        return .success(Slot())
                    }
                    // Checked under the lock, so a cancellation either sees this waiter or
                    // is seen here.
                    if Task.isCancelled { return .failure(Self.cancelledError) }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let immediate {
                    continuation.resume(returning: immediate)
                } else {
                    startTimer(forWaiter: id)
                }
            }
        } onCancel: {
            removeWaiter(id)?.resume(returning: .failure(Self.cancelledError))
        }
        return try result.get()
    }

    /// Arms the deadline of a queued waiter, so that callers fail with `.poolTimeout` instead
    /// of queueing forever behind connections stuck on a server that stopped answering. Only
    /// callers that really queue pay for the timer task.
    private func startTimer(forWaiter id: UInt64) {
        let timer = Task { [self] in
            do {
                try await Task.sleep(for: configuration.poolTimeout)
            } catch {
                return  // served (or cancelled) before the deadline
            }
            removeWaiter(id)?.resume(returning: .failure(poolTimeoutError()))
        }
        let attached = state.withLock { state -> Bool in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return false }
            state.waiters[index].timer = timer
            return true
        }
        if !attached { timer.cancel() }
    }

    /// Takes a waiter out of the queue, if it is still there.
    private func removeWaiter(_ id: UInt64) -> Waiter? {
        state.withLock { state in
            state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0) }
        }
    }

    private func poolTimeoutError() -> RedisError {
        RedisError(
            .poolTimeout,
            "no connection to \(configuration.redactedDescription) became free within \(configuration.poolTimeout) "
                + "(REDIS_POOL_TIMEOUT): "
                + "all \(size) are busy, so the command was not sent; slow commands or a server that stopped "
                + "answering hold them")
    }

    /// Returns a slot, logs what happened to it, and wakes waiters.
    private func settle(_ slot: Slot, _ report: Report) {
        var wasHealthy = true
        var retryIn: Duration?
        let wakeUps: [(Waiter, Result<Slot, RedisError>)] = state.withLock { state in
            wasHealthy = state.healthy
            if let error = report.connectError {
                let delay = state.backoff.nextDelay()
                retryIn = delay
                state.retryAfter = .now + delay
                state.lastConnectError = error
                state.healthy = false
            } else if report.connected {
                state.backoff.reset()
                state.retryAfter = nil
                state.healthy = true
            }
            if report.lostError != nil { state.healthy = false }

            if state.isShutdown {
                slot.connection?.close()
                slot.connection = nil
                state.open -= 1
                return []
            }
            if slot.connection != nil {
                if state.waiters.isEmpty {
                    state.idle.append(slot)
                    return []
                }
                return [(state.waiters.removeFirst(), .success(slot))]
            }
            if !state.waiters.isEmpty, refusal(state) == nil {
                // The empty slot lets the next waiter connect.
                return [(state.waiters.removeFirst(), .success(slot))]
            }
            state.open -= 1
            guard let refusal = refusal(state) else { return [] }
            // Redis is down: everyone waiting gets the fast answer now.
            defer { state.waiters = [] }
            return state.waiters.map { ($0, .failure(refusal)) }
        }
        for (waiter, result) in wakeUps { waiter.resume(returning: result) }
        log(report, wasHealthy: wasHealthy, retryIn: retryIn)
    }

    /// The fast-fail error while a reconnect backoff window is open, else `nil`.
    private func refusal(_ state: State) -> RedisError? {
        guard let retryAfter = state.retryAfter, ContinuousClock.now < retryAfter else { return nil }
        let reason = state.lastConnectError?.message ?? "connect failed"
        return RedisError(.connection, "Redis is unavailable (\(reason)); retrying shortly")
    }

    private func log(_ report: Report, wasHealthy: Bool, retryIn: Duration?) {
        if let error = report.connectError {
            let metadata: Logger.Metadata = ["error": "\(error)", "retry_in": "\(Backoff.format(retryIn ?? .zero))"]
            if wasHealthy {
                logger.warning("Cannot connect to Redis; failing fast until the next attempt", metadata: metadata)
            } else {
                logger.debug("Redis still unreachable", metadata: metadata)
            }
        }
        if let error = report.lostError {
            logger.warning("Redis connection lost", metadata: ["error": "\(error)"])
        }
        if report.replacedStale, report.connectError == nil {
            logger.info("Replaced a Redis connection the server had closed while idle")
        }
        if report.connected, !wasHealthy {
            logger.info("Redis connection re-established")
        }
    }

    private static let shutdownError = RedisError(.shutdown, "the Redis client is closed")
    private static let cancelledError = RedisError(.cancelled, "cancelled while waiting for a Redis connection")
}
