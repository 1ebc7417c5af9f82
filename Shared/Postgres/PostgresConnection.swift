import CLibPQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A connection lent to a closure; never escapes it. Not Sendable.
///
/// Owns one `PGconn*` in libpq's non-blocking mode. A statement is handed to libpq, which
/// returns at once; whenever libpq would block, the calling task waits on the process's one
/// `PostgresPoller` for its socket instead, so no thread is held while PostgreSQL works.
/// Statements go out as unnamed extended-protocol statements (`PQsendQueryParams`), the only
/// kind PgBouncer's transaction pooling supports.
public final class PostgresConnection {
    /// The libpq handle; nil once closed.
    private(set) var handle: OpaquePointer?
    /// The socket as the poller watches it; nil once closed.
    private var registration: PostgresPoller.Registration?
    private let poller: PostgresPoller
    /// Kept only to mask it, should libpq ever echo it in a message.
    let password: String?
    /// Set when the connection is in a state the pool must not reuse (a COPY in progress).
    var isPoisoned = false
    /// How long each statement may take before the connection is given up.
    let queryTimeout: Duration
    /// While set, statements ignore the task's cancellation (still bounded by the query
    /// timeout): `WriteCoalescer` sets it, since a batch carries other callers' writes.
    var ignoresCancellation = false

    init(handle: OpaquePointer, poller: PostgresPoller, password: String?, queryTimeout: Duration) {
        self.handle = handle
        self.poller = poller
        self.password = password
        self.queryTimeout = queryTimeout
    }

    deinit { close() }

    /// Runs one statement with `$1`, `$2`, … parameters in text format (nil is SQL NULL).
    ///
    /// The statement is unnamed, so it works through PgBouncer in transaction mode. Types are
    /// inferred by the server; cast in SQL when needed (`$1::jsonb`). When the calling task
    /// is cancelled while the statement runs, the connection is closed (its protocol state is
    /// unknown) and this throws `.cancelled`; the statement may or may not have run.
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) async throws(PostgresError) -> PostgresResult {
        let handle = try liveHandle()
        let texts = parameters.map { $0?.postgresText }
        guard !sql.utf8.contains(0), !texts.contains(where: { $0?.utf8.contains(0) ?? false }) else {
            throw Self.nulError
        }
        guard ignoresCancellation || !Task.isCancelled else { throw Self.cancelledBeforeSending }
        let deadline = ContinuousClock.now + queryTimeout
        let values = texts.map { $0.map { UnsafePointer(strdup($0)) } ?? nil }
        let sent = PQsendQueryParams(handle, sql, Int32(values.count), nil, values, nil, nil, 0)
        for pointer in values { free(UnsafeMutablePointer(mutating: pointer)) }
        guard sent == 1 else {
            throw PostgresError(code: errorCode(handle), message: libpqMessage())
        }
        return try await finish(handle, deadline: deadline)
    }

    /// Runs a parameterless script with `PQsendQuery` (simple protocol); it may hold several
    /// statements separated by semicolons. Meant for migrations. Inside `withTransaction`
    /// the script joins that transaction, so it must not contain BEGIN or COMMIT itself.
    public func execute(script: String) async throws(PostgresError) {
        let handle = try liveHandle()
        guard !script.utf8.contains(0) else { throw Self.nulError }
        guard ignoresCancellation || !Task.isCancelled else { throw Self.cancelledBeforeSending }
        let deadline = ContinuousClock.now + queryTimeout
        guard PQsendQuery(handle, script) == 1 else {
            throw PostgresError(code: errorCode(handle), message: libpqMessage())
        }
        _ = try await finish(handle, deadline: deadline)
    }

    /// Whether the connection is open and outside any transaction, as libpq last saw it.
    var isIdle: Bool {
        guard let handle, !isPoisoned else { return false }
        return PQstatus(handle) == CONNECTION_OK && PQtransactionStatus(handle) == PQTRANS_IDLE
    }

    /// Whether a transaction is open (or failed and awaiting ROLLBACK) on a live connection.
    var isInTransaction: Bool {
        guard let handle, !isPoisoned, PQstatus(handle) == CONNECTION_OK else { return false }
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    /// Whether the open transaction has failed, so COMMIT would only roll it back.
    var isInFailedTransaction: Bool {
        guard let handle else { return false }
        return PQtransactionStatus(handle) == PQTRANS_INERROR
    }

    /// Checks a connection that sat idle in the pool before lending it again.
    ///
    /// Nothing should arrive on an idle connection (AgentPool never LISTENs); if anything did,
    /// it is almost always the server's goodbye (a terminated backend, a restart), which may
    /// come a moment before the socket closes. Such a connection is not lent again: the pool
    /// replaces it before a statement is sent, instead of failing the statement.
    func isHealthyAfterIdle() -> Bool {
        guard let handle, isIdle else { return false }
        let socket = PQsocket(handle)
        guard socket >= 0 else { return false }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) == 0
    }

    /// Starts watching the socket of a connection that just connected.
    func watchSocket() throws(PostgresError) {
        guard let handle, PQsocket(handle) >= 0 else {
            throw PostgresError(code: .connection, message: "The connection has no socket.")
        }
        registration = try poller.register(PQsocket(handle))
    }

    /// Closes the connection (`PQfinish`, which does not wait in non-blocking mode); later
    /// calls fail with `.connection`. The poller lets go of its duplicate of the socket too.
    func close() {
        if let registration {
            poller.unregister(registration)
            self.registration = nil
        }
        if let handle {
            PQfinish(handle)
            self.handle = nil
        }
    }

    private func liveHandle() throws(PostgresError) -> OpaquePointer {
        guard let handle else {
            throw PostgresError(code: .connection, message: "The connection is closed.")
        }
        return handle
    }

    /// Waits (until `deadline`) for every result of the statement just sent and returns the
    /// last one, as `PQexec` would: performs what `StatementExchange` decides. Past the
    /// deadline, or when the task is cancelled, the connection is closed: its protocol state
    /// is unknown, and a frozen server would never let it recover.
    private func finish(_ handle: OpaquePointer, deadline: ContinuousClock.Instant) async throws(PostgresError) -> PostgresResult {
        guard let registration else { throw PostgresError(code: .connection, message: "The connection is closed.") }
        var exchange = StatementExchange()
        var last: OpaquePointer?
        var action = exchange.start()
        while true {
            switch action {
            case .flush:
                action = exchange.flushed(PQflush(handle))
            case .wait(let events):
                action = exchange.waited(
                    await poller.wait(registration, for: events, until: deadline, cancellable: !ignoresCancellation))
            case .consumeInput:
                action = exchange.consumed(ok: PQconsumeInput(handle) != 0)
            case .checkBusy:
                action = exchange.busy(PQisBusy(handle) != 0)
            case .takeResult:
                guard let result = PQgetResult(handle) else {
                    action = exchange.took(.none)
                    continue
                }
                PQclear(last)
                last = result
                // COPY never ends by itself, and a lost connection has nothing more to give.
                let status = PQresultStatus(result)
                let isFinal = status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH
                    || PQstatus(handle) == CONNECTION_BAD
                action = exchange.took(isFinal ? .final : .result)
            case .finish:
                return try consume(last, handle: handle)
            case .fail(let failure):
                PQclear(last)
                switch failure {
                case .timedOut:
                    close()
                    throw Self.timeoutError(queryTimeout)
                case .cancelled:
                    close()
                    throw Self.cancelledWhileRunning
                case .broken:
                    throw PostgresError(code: errorCode(handle), message: libpqMessage())
                }
            }
        }
    }

    private static let nulError = PostgresError(
        code: .server, message: "Text sent to PostgreSQL cannot contain NUL characters.",
        sqlState: "22021")
    private static let cancelledBeforeSending = PostgresError(
        code: .cancelled, message: "Cancelled before the statement was sent.")
    private static let cancelledWhileRunning = PostgresError(
        code: .cancelled,
        message: "Cancelled while the statement ran, so the connection was closed; the statement may or may not have run.")
}

/// A connection belongs to one task at a time: the pool moves it, callers cannot.
@available(*, unavailable)
extension PostgresConnection: Sendable {}
