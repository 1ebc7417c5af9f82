import Foundation
import Synchronization

#if os(Linux)
import CEpoll
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One thread per process that watches every PostgreSQL socket and wakes the task waiting
/// on it, so that a libpq connection in non-blocking mode needs no thread of its own.
///
/// A task that must wait (a flush that did not drain, a reply not complete yet) calls
/// `wait`, which suspends it; the poller thread (epoll on Linux, poll(2) elsewhere) resumes
/// it when its socket is ready, its deadline passes, or it is cancelled. libpq itself is only
/// ever called by the waiting task, never by this thread.
///
/// Each registration watches its own `dup` of libpq's descriptor. libpq closes its socket by
/// itself when it sees the connection drop, and the number may be reused by the next
/// connection at once; the duplicate keeps the number (and the kernel's epoll entry) ours
/// until `unregister`, so the poller never watches, or removes, someone else's socket.
final class PostgresPoller: Sendable {
    /// The process's poller, started on first use and never stopped.
    static let shared = PostgresPoller()

    /// A watched socket; owned by one connection, which unregisters it when it closes.
    struct Registration: Sendable {
        /// The poller's own descriptor (a duplicate of libpq's).
        let fd: Int32
    }

    private struct State: ~Copyable {
        var book = PollerBook<CheckedContinuation<PollerOutcome, Never>>()
        var isStopped = false
    }

    private let state = Mutex(State())
    private let tokens = Atomic<Int>(0)
    private let backend: any PollerBackend

    /// Starts a poller with its thread. Besides `shared`, only tests make pollers (to try
    /// the poll(2) backend on Linux); they call `stop()` afterwards.
    init(backend: any PollerBackend = PostgresPoller.platformBackend()) {
        self.backend = backend
        let thread = Thread { [self] in
            // Named from inside (Foundation's Thread.name reaches the system only sometimes).
            #if os(Linux)
            _ = agentpool_name_this_thread("postgres-poller")
            #endif
            run()
        }
        thread.start()
    }

    static func platformBackend() -> any PollerBackend {
        #if os(Linux)
        return EpollBackend()
        #else
        return PollBackend()
        #endif
    }

    /// Starts watching libpq's socket `fd` (it stays libpq's; the poller watches a duplicate).
    func register(_ fd: Int32) throws(PostgresError) -> Registration {
        let own = dup(fd)
        guard own >= 0 else {
            throw PostgresError(code: .connection, message: "Could not watch the PostgreSQL socket (dup errno \(errno)).")
        }
        _ = fcntl(own, F_SETFD, FD_CLOEXEC)
        do throws(PostgresError) {
            try state.withLock { state throws(PostgresError) in
                guard let generation = state.book.register(fd: own) else {
                    throw PostgresError(code: .connection, message: "The PostgreSQL socket \(own) is watched twice.")
                }
                do throws(PostgresError) {
                    try backend.add(fd: own, generation: generation)
                } catch {
                    _ = state.book.unregister(fd: own)
                    throw error
                }
            }
        } catch {
            close(own)
            throw error
        }
        return Registration(fd: own)
    }

    /// Stops watching and closes the poller's duplicate; a task still waiting gets `.closed`.
    func unregister(_ registration: Registration) {
        let waiter = state.withLock { state in
            let waiter = state.book.unregister(fd: registration.fd)
            // Under the lock, before close: no arm can slip in between, and the descriptor
            // number cannot be reused before the kernel forgot it.
            backend.remove(fd: registration.fd)
            close(registration.fd)
            return waiter
        }
        waiter?.resume(returning: .closed)
    }

    /// Suspends until the socket is ready for `events`, `deadline` passes, or the task is
    /// cancelled (which ends the wait at once, unless `cancellable` is false).
    func wait(
        _ registration: Registration, for events: PollerEvents, until deadline: ContinuousClock.Instant,
        cancellable: Bool = true
    ) async -> PollerOutcome {
        let token = tokens.add(1, ordering: .relaxed).newValue
        guard cancellable else { return await suspend(registration, events, deadline, token, cancellable: false) }
        return await withTaskCancellationHandler {
            await suspend(registration, events, deadline, token, cancellable: true)
        } onCancel: {
            state.withLock { $0.book.cancel(token: token) }?.resume(returning: .cancelled)
        }
    }

    private func suspend(
        _ registration: Registration, _ events: PollerEvents, _ deadline: ContinuousClock.Instant, _ token: Int,
        cancellable: Bool
    ) async -> PollerOutcome {
        await withCheckedContinuation { (continuation: CheckedContinuation<PollerOutcome, Never>) in
            // Task.isCancelled is read under the lock the cancel handler takes too: either
            // the handler finds this waiter, or this sees the cancellation.
            let action = state.withLock { state in
                let action = state.book.wait(
                    fd: registration.fd, events: events, deadline: deadline, token: token, waiter: continuation,
                    isCancelled: cancellable && Task.isCancelled, now: .now)
                if case .arm(let armed, _) = action { backend.arm(armed) }
                return action
            }
            switch action {
            case .resume(let outcome):
                continuation.resume(returning: outcome)
            case .arm(_, let wakePoller):
                if wakePoller || backend.needsArmedSet { backend.wake() }
            }
        }
    }

    /// How many sockets are registered and how many tasks wait (for tests and diagnostics).
    var counts: (registered: Int, waiting: Int) {
        state.withLock { ($0.book.registeredCount, $0.book.waitingCount) }
    }

    /// Ends the thread after its current sleep (tests only; `shared` runs for the process).
    func stop() {
        state.withLock { $0.isStopped = true }
        backend.wake()
    }

    /// The thread: sleep until the next deadline or event, then resume whoever is due.
    private func run() {
        while true {
            let sleep: (timeout: Int32, armed: [ArmedSocket])? = state.withLock { state in
                guard !state.isStopped else { return nil }
                return (state.book.sleep(now: .now), backend.needsArmedSet ? state.book.armed : [])
            }
            guard let sleep else { return }
            let reports = backend.wait(timeout: sleep.timeout, armed: sleep.armed)
            let due = state.withLock { state in
                var due: [(CheckedContinuation<PollerOutcome, Never>, PollerOutcome)] = []
                for report in reports {
                    if let (waiter, events) = state.book.ready(fd: report.fd, generation: report.generation, events: report.events) {
                        due.append((waiter, .ready(events)))
                    }
                }
                for waiter in state.book.expire(now: .now) { due.append((waiter, .timedOut)) }
                return due
            }
            for (waiter, outcome) in due { waiter.resume(returning: outcome) }
        }
    }
}
