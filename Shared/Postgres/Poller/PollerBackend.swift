#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The system call behind `PostgresPoller`: epoll on Linux, poll(2) elsewhere.
///
/// Only the poller thread calls `wait`; `add`, `arm` and `remove` are called under the
/// poller's lock from any thread, and `wake` from anywhere.
protocol PollerBackend: Sendable {
    /// Whether `wait` needs the whole armed set each time (poll(2)), so every arm must wake
    /// the thread to rebuild it; epoll keeps the set in the kernel.
    var needsArmedSet: Bool { get }
    /// Starts watching a socket (no events yet).
    func add(fd: Int32, generation: UInt32) throws(PostgresError)
    /// Watches the socket for one report of `events` (one-shot).
    func arm(_ armed: ArmedSocket)
    /// Stops watching a socket that is still open.
    func remove(fd: Int32)
    /// Makes a sleeping `wait` return now.
    func wake()
    /// Sleeps until a socket is ready, `wake` is called, or `timeout` ms pass (-1: no limit).
    func wait(timeout: Int32, armed: [ArmedSocket]) -> [(fd: Int32, generation: UInt32, events: PollerEvents)]
}

/// A non-blocking self-pipe that wakes the poller thread.
struct WakePipe: Sendable {
    let readEnd: Int32
    let writeEnd: Int32

    init() {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { fatalError("the PostgreSQL poller could not make its wake pipe (errno \(errno))") }
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        readEnd = ends[0]
        writeEnd = ends[1]
    }

    /// Writes one byte; a full pipe already wakes the thread, so EAGAIN is fine.
    func wake() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Empties the pipe after a wake.
    func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buffer, buffer.count) > 0 {}
    }
}

/// The portable backend: poll(2) over the armed set, rebuilt by the thread on every wake.
/// Fine for the few connections a process has; used where epoll does not exist.
struct PollBackend: PollerBackend {
    private let pipe = WakePipe()

    var needsArmedSet: Bool { true }
    func add(fd: Int32, generation: UInt32) throws(PostgresError) {}
    func arm(_ armed: ArmedSocket) {}
    func remove(fd: Int32) {}
    func wake() { pipe.wake() }

    func wait(timeout: Int32, armed: [ArmedSocket]) -> [(fd: Int32, generation: UInt32, events: PollerEvents)] {
        var descriptors = [pollfd(fd: pipe.readEnd, events: Int16(POLLIN), revents: 0)]
        for socket in armed {
            var events: Int16 = 0
            if socket.events.contains(.readable) { events |= Int16(POLLIN) }
            if socket.events.contains(.writable) { events |= Int16(POLLOUT) }
            descriptors.append(pollfd(fd: socket.fd, events: events, revents: 0))
        }
        let count = poll(&descriptors, nfds_t(descriptors.count), timeout)
        guard count > 0 else { return [] }
        if descriptors[0].revents != 0 { pipe.drain() }
        return zip(armed, descriptors.dropFirst()).compactMap { socket, descriptor in
            guard descriptor.revents != 0 else { return nil }
            var events: PollerEvents = []
            if descriptor.revents & Int16(POLLIN) != 0 { events.insert(.readable) }
            if descriptor.revents & Int16(POLLOUT) != 0 { events.insert(.writable) }
            // POLLERR, POLLHUP, POLLNVAL: leave empty, the book reports what was waited for.
            return (socket.fd, socket.generation, events)
        }
    }
}
