/// What a socket is waited for (a flush that does not drain waits for both: libpq's rule is
/// to read meanwhile, since the server may be blocked writing to us).
public struct PollerEvents: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let readable = PollerEvents(rawValue: 1)
    public static let writable = PollerEvents(rawValue: 2)
}

/// How one wait on the poller ended.
public enum PollerOutcome: Sendable, Equatable {
    /// The socket is ready for (some of) these events.
    case ready(PollerEvents)
    /// The deadline passed first.
    case timedOut
    /// The waiting task was cancelled.
    case cancelled
    /// The socket was unregistered (or never registered) while the wait was due.
    case closed
}

/// A socket the poller's backend must watch: its descriptor, generation and events.
struct ArmedSocket: Equatable, Sendable {
    let fd: Int32
    let generation: UInt32
    let events: PollerEvents
}

/// The poller's bookkeeping as a value: which sockets are registered (with a generation, so
/// that an event for a closed descriptor is never delivered to the new socket that reused its
/// number), who waits on which socket for what and until when, and how long the poller
/// thread may sleep. It never touches a socket or a clock: the driver (`PostgresPoller`)
/// passes `now` in and performs what the returned values say, so it is unit-tested without
/// sockets.
///
/// Each socket has at most one waiter: a connection is used by one task at a time. Deadlines
/// are found by a scan; a process has a few dozen connections at most, so a heap would buy
/// nothing.
struct PollerBook<Waiter> {
    /// One waiting task.
    struct Entry {
        let token: Int
        let waiter: Waiter
        let events: PollerEvents
        let deadline: ContinuousClock.Instant
    }

    /// What `wait` decided.
    enum WaitAction {
        /// Arm the socket in the backend; wake the poller thread first when the new deadline
        /// is earlier than the one it sleeps towards.
        case arm(ArmedSocket, wakePoller: Bool)
        /// Resume the waiter at once (no registration, the deadline passed, already cancelled).
        case resume(PollerOutcome)
    }

    private var generations: [Int32: UInt32] = [:]
    private var nextGeneration: UInt32 = 1
    private var waiting: [Int32: Entry] = [:]
    private var socketOfToken: [Int: Int32] = [:]
    /// When the poller thread will wake by itself; nil before it first slept.
    private(set) var sleepingUntil: ContinuousClock.Instant?

    /// The number of registered sockets.
    var registeredCount: Int { generations.count }
    /// The number of waiting tasks.
    var waitingCount: Int { waiting.count }

    /// Starts tracking a socket; returns its generation, or nil when it is registered already
    /// (a caller's bug: two owners of one descriptor).
    mutating func register(fd: Int32) -> UInt32? {
        guard generations[fd] == nil else { return nil }
        let generation = nextGeneration
        nextGeneration = nextGeneration == .max ? 1 : nextGeneration + 1
        generations[fd] = generation
        return generation
    }

    /// Stops tracking a socket (before it is closed); a task still waiting on it is returned,
    /// to be resumed with `.closed`.
    mutating func unregister(fd: Int32) -> Waiter? {
        generations[fd] = nil
        guard let entry = waiting.removeValue(forKey: fd) else { return nil }
        socketOfToken[entry.token] = nil
        return entry.waiter
    }

    /// A task wants `events` on `fd` until `deadline`.
    mutating func wait(
        fd: Int32, events: PollerEvents, deadline: ContinuousClock.Instant, token: Int, waiter: Waiter,
        isCancelled: Bool, now: ContinuousClock.Instant
    ) -> WaitAction {
        guard let generation = generations[fd] else { return .resume(.closed) }
        if isCancelled { return .resume(.cancelled) }
        guard deadline > now else { return .resume(.timedOut) }
        precondition(waiting[fd] == nil, "two tasks wait on one PostgreSQL socket")
        waiting[fd] = Entry(token: token, waiter: waiter, events: events, deadline: deadline)
        socketOfToken[token] = fd
        let wake = sleepingUntil.map { deadline < $0 } ?? true
        if wake { sleepingUntil = deadline }
        return .arm(ArmedSocket(fd: fd, generation: generation, events: events), wakePoller: wake)
    }

    /// The backend reported `events` on `fd` of `generation`; returns the waiter to resume with
    /// `.ready`, or nil for a stale event (a socket since unregistered, or nobody waiting).
    mutating func ready(fd: Int32, generation: UInt32, events: PollerEvents) -> (Waiter, PollerEvents)? {
        guard generations[fd] == generation, let entry = waiting[fd] else { return nil }
        // Errors and hang-ups come as both: libpq then finds out what happened itself.
        let seen = events.isEmpty ? entry.events : events
        waiting[fd] = nil
        socketOfToken[entry.token] = nil
        return (entry.waiter, seen)
    }

    /// The task of `token` was cancelled; returns its waiter to resume with `.cancelled`, or
    /// nil when it was resumed already.
    mutating func cancel(token: Int) -> Waiter? {
        guard let fd = socketOfToken.removeValue(forKey: token) else { return nil }
        return waiting.removeValue(forKey: fd)?.waiter
    }

    /// Takes out every waiter whose deadline passed, to be resumed with `.timedOut`.
    mutating func expire(now: ContinuousClock.Instant) -> [Waiter] {
        let due = waiting.filter { $0.value.deadline <= now }
        for (fd, entry) in due {
            waiting[fd] = nil
            socketOfToken[entry.token] = nil
        }
        return due.values.sorted { $0.token < $1.token }.map { $0.waiter }
    }

    /// The longest the poller thread sleeps, with or without waiters. A wait whose deadline
    /// lies beyond the thread's next wake-up need not wake it (no pipe write, no extra
    /// wake-up per statement: deadlines are seconds away, statements a millisecond); the
    /// thread takes the deadline into account when it next wakes. Idle, it wakes once a
    /// second, which costs nothing measurable.
    static var maximumSleep: Duration { .seconds(1) }

    /// The poller thread is about to sleep: how long, in milliseconds for epoll_wait/poll,
    /// until the earliest deadline or `maximumSleep`, remembering when it will wake.
    mutating func sleep(now: ContinuousClock.Instant) -> Int32 {
        // Closures, not key paths: in generic code a key path is built anew on each call.
        let next = min(waiting.values.map { $0.deadline }.min() ?? now + Self.maximumSleep, now + Self.maximumSleep)
        sleepingUntil = next
        guard next > now else { return 0 }
        // Rounded up, so that the thread never wakes just before a deadline and spins.
        let milliseconds = ((next - now) / .milliseconds(1)).rounded(.up)
        return Int32(min(milliseconds, Double(Int32.max)))
    }

    /// Every socket with a waiter, for a backend (poll(2)) that is handed the whole set.
    var armed: [ArmedSocket] {
        waiting.compactMap { fd, entry in
            generations[fd].map { ArmedSocket(fd: fd, generation: $0, events: entry.events) }
        }
    }
}
