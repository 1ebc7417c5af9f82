import EventLoopExecution
import Synchronization

/// Bounds how long a request may wait for its answer, whatever hangs behind it (a frozen
/// PgBouncer, a Redis that stopped answering): the client gets the timeout error at the
/// bound while the work, cancelled, ends in the background. Structured concurrency cannot
/// do this by itself, since a task group waits for every child, including one blocked in a
/// dependency that ignores cancellation.
enum AnswerDeadline {
    /// The result of `work`, or `timeout()` thrown once `limit` has passed.
    static func run<T: Sendable>(
        within limit: Duration, timeout: @escaping @Sendable () -> any Error, _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await run(within: limit, fallback: { .failure(timeout()) }, work)
    }

    /// The result of `work`, or once `limit` has passed whatever `fallback()` says then: an
    /// answer made of what the work learnt so far (a task accepted, then waited for), or an
    /// error.
    static func run<T: Sendable>(
        within limit: Duration, fallback: @escaping @Sendable () -> Result<T, any Error>,
        _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let answer = Answer<T>()
        let worker = Task { answer.settle(await Result(catching: work)) }
        let timer = Task {
            try await Task.sleep(for: limit, clock: .eventLoop)
            answer.settle(fallback())
            worker.cancel()
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await answer.value()
        } onCancel: {
            worker.cancel()
        }
    }

    /// The first result settled wins; later ones are dropped.
    private final class Answer<T: Sendable>: Sendable {
        private struct State {
            var result: Result<T, any Error>?
            var waiter: CheckedContinuation<T, any Error>?
        }

        private let state = Mutex(State())

        func settle(_ result: Result<T, any Error>) {
            let waiter = state.withLock { state -> CheckedContinuation<T, any Error>? in
                guard state.result == nil else { return nil }
                state.result = result
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(with: result)
        }

        func value() async throws -> T {
            try await withCheckedThrowingContinuation { continuation in
                let settled = state.withLock { state -> Result<T, any Error>? in
                    if state.result == nil { state.waiter = continuation }
                    return state.result
                }
                if let settled { continuation.resume(with: settled) }
            }
        }
    }
}

extension Result where Failure == any Error {
    /// The result of an async throwing closure.
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
