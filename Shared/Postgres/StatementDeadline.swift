import CLibPQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Drives one statement on a non-blocking libpq connection until its last result, giving up
/// at a deadline.
///
/// Why non-blocking libpq and not a watchdog thread: a blocking `PQexecParams` waits forever
/// for a server that accepted the TCP connection and then froze (a SIGSTOPped PgBouncer, a
/// host that vanished without a reset). A watchdog that shuts the socket down from another
/// thread would need a lock shared with `PQfinish` so that it never hits a descriptor number
/// the process has reused, plus a thread (or timer) per statement. With
/// `PQsetnonblocking`, `PQflush`, `PQconsumeInput`, `PQisBusy` and `poll(2)`, the thread that
/// runs the statement enforces the deadline itself: no second thread touches the connection,
/// and on a timeout the caller simply closes it (`PQfinish` does not block in non-blocking
/// mode). It costs one `poll` per wait, the same system calls libpq's blocking mode makes.
struct StatementDeadline {
    /// Why a wait ended without a result.
    enum Failure: Error {
        /// The deadline passed; the connection is in an unknown protocol state.
        case timedOut
        /// libpq reported a connection failure (its message is in `PQerrorMessage`).
        case broken
    }

    let handle: OpaquePointer
    let deadline: ContinuousClock.Instant

    /// Sends whatever libpq still buffers of the statement.
    func flush() throws(Failure) {
        while true {
            switch PQflush(handle) {
            case 0:
                return
            case 1:
                // libpq's rule: while the output does not drain, also read, since the server
                // may be blocked writing to us.
                let events = try wait(for: Int16(POLLOUT) | Int16(POLLIN))
                if events & Int16(POLLIN) != 0, PQconsumeInput(handle) == 0 { throw .broken }
            default:
                throw .broken
            }
        }
    }

    /// The statement's next result, or nil once all of them came (as `PQgetResult`).
    func nextResult() throws(Failure) -> OpaquePointer? {
        while PQisBusy(handle) != 0 {
            _ = try wait(for: Int16(POLLIN))
            guard PQconsumeInput(handle) != 0 else { throw .broken }
        }
        return PQgetResult(handle)
    }

    /// Waits until the socket is ready for `events` or the deadline passes.
    private func wait(for events: Int16) throws(Failure) -> Int16 {
        let socket = PQsocket(handle)
        guard socket >= 0 else { throw .broken }
        while true {
            let remaining = deadline - .now
            guard remaining > .zero else { throw .timedOut }
            var descriptor = pollfd(fd: socket, events: events, revents: 0)
            let ready = poll(&descriptor, 1, Self.milliseconds(remaining))
            if ready > 0 { return descriptor.revents }
            if ready < 0, errno != EINTR { throw .broken }
        }
    }

    /// `poll`'s timeout: whole milliseconds, rounded up so that it never spins at 0.
    private static func milliseconds(_ duration: Duration) -> Int32 {
        let value = (duration / .milliseconds(1)).rounded(.up)
        return Int32(min(max(value, 1), Double(Int32.max)))
    }
}
