import NIOCore
import NIOPosix
import Synchronization

/// A clock whose sleeps are timers on SwiftNIO's event loops.
///
/// `Task.sleep` on Linux arms a Dispatch timer, which wakes one of Dispatch's threads: with
/// the global executor on the event loops (`EventLoopGlobalExecutor`) those threads would
/// exist only for timers, and every deadline a request or an attempt sets up would cross
/// threads twice. This clock keeps the timer on the event loop the sleeper runs on, and a
/// cancelled sleep ends at once with `CancellationError`, like `Task.sleep`.
///
///     try await Task.sleep(for: .seconds(1), clock: .eventLoop)
///
/// Its instants are `ContinuousClock`'s, so deadlines computed with `ContinuousClock.now`
/// work unchanged. Tolerance is ignored: a loop fires a timer as soon as it is due.
public struct EventLoopClock: Clock, Sendable {
    public typealias Instant = ContinuousClock.Instant
    public typealias Duration = Swift.Duration

    public init() {}

    public var now: Instant { .now }
    public var minimumResolution: Duration { .microseconds(1) }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let delay = Instant.now.duration(to: deadline)
        guard delay > .zero else { return }
        let sleeper = Sleeper()
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                guard sleeper.wait(continuation) else { return }
                // The singleton group's loops live as long as the process, so the timer fires
                // or is cancelled; it cannot be dropped by a loop shutting down.
                let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: TimeAmount(delay)) {
                    sleeper.finish(cancelled: false)
                }
                sleeper.armed(timer)
            }
        } onCancel: {
            sleeper.finish(cancelled: true)
        }
    }
}

extension Clock where Self == EventLoopClock {
    /// The clock of the event loops' timers (`EventLoopClock`).
    public static var eventLoop: EventLoopClock { EventLoopClock() }
}

/// One sleep's state: the waiting continuation and its timer, settled exactly once by
/// whichever comes first, the timer or a cancellation.
private final class Sleeper: Sendable {
    private struct State {
        var continuation: UnsafeContinuation<Void, any Error>?
        var timer: Scheduled<Void>?
        var finished = false
    }
    private let state = Mutex(State())

    /// Keeps `continuation` until the sleep ends; false when a cancellation came first (then
    /// the continuation has been resumed already).
    func wait(_ continuation: UnsafeContinuation<Void, any Error>) -> Bool {
        let cancelled = state.withLock { state in
            if state.finished { return true }
            state.continuation = continuation
            return false
        }
        if cancelled { continuation.resume(throwing: CancellationError()) }
        return !cancelled
    }

    /// Keeps the timer so that a cancellation can stop it; stops it at once when the sleep
    /// ended (was cancelled) in between.
    func armed(_ timer: Scheduled<Void>) {
        let stale = state.withLock { state in
            if state.finished { return true }
            state.timer = timer
            return false
        }
        if stale { timer.cancel() }
    }

    func finish(cancelled: Bool) {
        let (continuation, timer) = state.withLock { state -> (UnsafeContinuation<Void, any Error>?, Scheduled<Void>?) in
            guard !state.finished else { return (nil, nil) }
            state.finished = true
            defer { state.continuation = nil; state.timer = nil }
            return (state.continuation, state.timer)
        }
        if cancelled {
            timer?.cancel()
            continuation?.resume(throwing: CancellationError())
        } else {
            continuation?.resume()
        }
    }
}
