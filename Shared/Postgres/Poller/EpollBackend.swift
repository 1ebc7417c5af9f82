#if os(Linux)
import CEpoll
import Glibc

/// The Linux backend: one epoll set; each wait arms its socket with `EPOLLONESHOT`, so a
/// report comes once per wait and a socket nobody waits on costs nothing. The event's data
/// carries the descriptor and its generation, so a report about a descriptor that was closed
/// and reused meanwhile is recognised as stale.
struct EpollBackend: PollerBackend {
    private let epoll: Int32
    private let pipe = WakePipe()

    init() {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { fatalError("the PostgreSQL poller could not create an epoll set (errno \(errno))") }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = UInt64(UInt32(bitPattern: pipe.readEnd))
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, pipe.readEnd, &event) == 0 else {
            fatalError("the PostgreSQL poller could not watch its wake pipe (errno \(errno))")
        }
    }

    var needsArmedSet: Bool { false }

    func add(fd: Int32, generation: UInt32) throws(PostgresError) {
        var event = Self.event(fd: fd, generation: generation, events: 0)
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0 else {
            throw PostgresError(code: .connection, message: "Could not watch the PostgreSQL socket (epoll errno \(errno)).")
        }
    }

    func arm(_ armed: ArmedSocket) {
        var flags = EPOLLONESHOT.rawValue
        if armed.events.contains(.readable) { flags |= EPOLLIN.rawValue }
        if armed.events.contains(.writable) { flags |= EPOLLOUT.rawValue }
        var event = Self.event(fd: armed.fd, generation: armed.generation, events: flags)
        // Cannot fail for a registered open socket; if it did, the wait ends at its deadline.
        _ = epoll_ctl(epoll, EPOLL_CTL_MOD, armed.fd, &event)
    }

    func remove(fd: Int32) {
        var event = epoll_event()
        _ = epoll_ctl(epoll, EPOLL_CTL_DEL, fd, &event)
    }

    func wake() { pipe.wake() }

    func wait(timeout: Int32, armed: [ArmedSocket]) -> [(fd: Int32, generation: UInt32, events: PollerEvents)] {
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        let count = epoll_wait(epoll, &events, Int32(events.count), timeout)
        guard count > 0 else { return [] }
        var reports: [(fd: Int32, generation: UInt32, events: PollerEvents)] = []
        for event in events.prefix(Int(count)) {
            let data = event.data.u64
            let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: data))
            let generation = UInt32(truncatingIfNeeded: data >> 32)
            if generation == 0, fd == pipe.readEnd {
                pipe.drain()
                continue
            }
            var seen: PollerEvents = []
            if event.events & EPOLLIN.rawValue != 0 { seen.insert(.readable) }
            if event.events & EPOLLOUT.rawValue != 0 { seen.insert(.writable) }
            reports.append((fd, generation, seen))
        }
        return reports
    }

    private static func event(fd: Int32, generation: UInt32, events: UInt32) -> epoll_event {
        var event = epoll_event()
        event.events = events
        event.data.u64 = UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
        return event
    }
}
#endif
