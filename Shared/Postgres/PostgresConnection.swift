import CLibPQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A connection lent to a closure; never escapes it. Not Sendable.
///
/// Owns one `PGconn*`. Every call blocks its thread until the server answers or the
/// statement's deadline (`queryTimeout`) passes, which is why `PostgresClient` only lends
/// connections on its own thread pool. Statements go out as unnamed extended-protocol
/// statements (`PQsendQueryParams`), the only kind PgBouncer's transaction pooling supports;
/// the connection is in libpq's non-blocking mode so that a deadline can be kept (see
/// `StatementDeadline`).
public final class PostgresConnection {
    /// The libpq handle; nil once closed.
    private var handle: OpaquePointer?
    /// Kept only to mask it, should libpq ever echo it in a message.
    private let password: String?
    /// Set when the connection is in a state the pool must not reuse (a COPY in progress).
    private(set) var isPoisoned = false
    /// How long each statement may take before the connection is given up.
    let queryTimeout: Duration

    private init(handle: OpaquePointer, password: String?, queryTimeout: Duration) {
        self.handle = handle
        self.password = password
        self.queryTimeout = queryTimeout
    }

    deinit { close() }

    /// Opens a connection with `PQconnectdbParams` (blocking, up to `connect_timeout`).
    static func connect(_ configuration: PostgresConfiguration) throws(PostgresError) -> PostgresConnection {
        let parameters = configuration.libpqParameters
        let keywords = parameters.map { UnsafePointer(strdup($0.keyword)) } + [nil]
        let values = parameters.map { UnsafePointer(strdup($0.value)) } + [nil]
        defer {
            for pointer in keywords + values { free(UnsafeMutablePointer(mutating: pointer)) }
        }
        // expand_dbname = 0: a database name is only a name, never a connection string.
        guard let handle = PQconnectdbParams(keywords, values, 0) else {
            throw PostgresError(code: .connection, message: "libpq could not allocate a connection.")
        }
        let connection = PostgresConnection(
            handle: handle, password: configuration.password, queryTimeout: configuration.queryTimeout)
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = connection.libpqMessage()
            connection.close()
            throw PostgresError(code: .connection, message: message)
        }
        // Statements then never block inside libpq: StatementDeadline waits with poll(2).
        guard PQsetnonblocking(handle, 1) == 0 else {
            let message = connection.libpqMessage()
            connection.close()
            throw PostgresError(code: .connection, message: message)
        }
        // Notices (for example "relation already exists, skipping") would go to stderr.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        return connection
    }

    /// Runs one statement with `$1`, `$2`, … parameters in text format (nil is SQL NULL).
    ///
    /// The statement is unnamed, so it works through PgBouncer in transaction mode. Types are
    /// inferred by the server; cast in SQL when needed (`$1::jsonb`).
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) throws(PostgresError) -> PostgresResult {
        let handle = try liveHandle()
        let texts = parameters.map { $0?.postgresText }
        guard !sql.utf8.contains(0), !texts.contains(where: { $0?.utf8.contains(0) ?? false }) else {
            throw Self.nulError
        }
        let values = texts.map { $0.map { UnsafePointer(strdup($0)) } ?? nil }
        defer {
            for pointer in values { free(UnsafeMutablePointer(mutating: pointer)) }
        }
        let deadline = ContinuousClock.now + queryTimeout
        guard PQsendQueryParams(handle, sql, Int32(values.count), nil, values, nil, nil, 0) == 1 else {
            throw PostgresError(code: errorCode(handle), message: libpqMessage())
        }
        return try finish(handle, deadline: deadline)
    }

    /// Runs a parameterless script with `PQexec` (simple protocol); it may hold several
    /// statements separated by semicolons. Meant for migrations. Inside `withTransaction`
    /// the script joins that transaction, so it must not contain BEGIN or COMMIT itself.
    public func execute(script: String) throws(PostgresError) {
        let handle = try liveHandle()
        guard !script.utf8.contains(0) else { throw Self.nulError }
        let deadline = ContinuousClock.now + queryTimeout
        guard PQsendQuery(handle, script) == 1 else {
            throw PostgresError(code: errorCode(handle), message: libpqMessage())
        }
        _ = try finish(handle, deadline: deadline)
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

    /// Closes the connection (`PQfinish`); later calls fail with `.connection`.
    func close() {
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

    private static let nulError = PostgresError(
        code: .server, message: "Text sent to PostgreSQL cannot contain NUL characters.",
        sqlState: "22021")
}

extension PostgresConnection {
    /// Waits (until `deadline`) for every result of the statement just sent and returns the
    /// last one, as `PQexec` would. Past the deadline the connection is closed: its protocol
    /// state is unknown, and a frozen server would never let it recover.
    private func finish(_ handle: OpaquePointer, deadline: ContinuousClock.Instant) throws(PostgresError) -> PostgresResult {
        let exchange = StatementDeadline(handle: handle, deadline: deadline)
        var last: OpaquePointer?
        do {
            try exchange.flush()
            while let result = try exchange.nextResult() {
                PQclear(last)
                last = result
                // COPY never ends by itself, and a lost connection has nothing more to give.
                let status = PQresultStatus(result)
                if status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH
                    || PQstatus(handle) == CONNECTION_BAD
                {
                    break
                }
            }
        } catch {
            PQclear(last)
            switch error {
            case .timedOut:
                close()
                throw Self.timeoutError(queryTimeout)
            case .broken:
                throw PostgresError(code: errorCode(handle), message: libpqMessage())
            }
        }
        return try consume(last, handle: handle)
    }

    /// What a caller sees when a statement outlived its deadline.
    static func timeoutError(_ timeout: Duration) -> PostgresError {
        PostgresError(
            code: .timeout,
            message: "PostgreSQL (or PgBouncer) did not answer within the query timeout of \(timeout) "
                + "(DB_QUERY_TIMEOUT), so the connection was closed; the statement may or may not have run. "
                + "Check that PgBouncer and PostgreSQL respond, or raise the timeout for slow statements.")
    }

    /// Turns a `PGresult` into rows or an error, and frees it.
    private func consume(_ result: OpaquePointer?, handle: OpaquePointer) throws(PostgresError) -> PostgresResult {
        guard let result else {
            throw PostgresError(code: errorCode(handle), message: libpqMessage())
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return PostgresResult(rows: [], affectedRows: Self.affectedRows(result))
        case PGRES_TUPLES_OK:
            return PostgresResult(rows: Self.rows(of: result), affectedRows: Self.affectedRows(result))
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR:
            throw serverError(result, handle: handle)
        default:
            // COPY and the like leave the protocol mid-way: this connection cannot be reused.
            isPoisoned = true
            throw PostgresError(
                code: .server, message: "The statement needs COPY or another unsupported protocol mode.")
        }
    }

    /// The server's primary message and SQLSTATE; never the full error text, which can
    /// quote the statement ("LINE 1: …") or key values (DETAIL).
    private func serverError(_ result: OpaquePointer, handle: OpaquePointer) -> PostgresError {
        let sqlState = PQresultErrorField(result, Self.diagnosticSQLState).map { String(cString: $0) }
        let message: String
        if let primary = PQresultErrorField(result, Self.diagnosticPrimaryMessage) {
            message = clean(String(cString: primary))
        } else {
            // Errors libpq made itself (a lost connection) have no fields, only a message.
            message = libpqMessage()
        }
        return PostgresError(code: errorCode(handle), message: message, sqlState: sqlState)
    }

    // postgres_ext.h defines these as character literals, which Swift does not import.
    private static let diagnosticSQLState = Int32(UInt8(ascii: "C"))  // PG_DIAG_SQLSTATE
    private static let diagnosticPrimaryMessage = Int32(UInt8(ascii: "M"))  // PG_DIAG_MESSAGE_PRIMARY

    private func errorCode(_ handle: OpaquePointer) -> PostgresError.Code {
        PQstatus(handle) == CONNECTION_BAD ? .connection : .server
    }

    /// libpq's last message (never holds the SQL), trimmed and on one line.
    private func libpqMessage() -> String {
        guard let handle, let raw = PQerrorMessage(handle) else { return "Unknown libpq error." }
        let message = clean(String(cString: raw))
        return message.isEmpty ? "Unknown libpq error." : message
    }

    /// The line without leading and trailing whitespace.
    private static func trimmed(_ line: Substring) -> Substring {
        let start = line.firstIndex { !$0.isWhitespace } ?? line.endIndex
        let end = line.lastIndex { !$0.isWhitespace }.map(line.index(after:)) ?? start
        return line[start..<end]
    }

    /// Trims, joins lines, and masks the password in case a message ever echoes it.
    private func clean(_ text: String) -> String {
        var message = text.split(whereSeparator: \.isNewline)
            .map(Self.trimmed)
            .filter { !$0.isEmpty }
            .joined(separator: " ")
        if let password, !password.isEmpty {
            message = message.replacing(password, with: "***")
        }
        return message
    }

    private static func affectedRows(_ result: OpaquePointer) -> Int {
        guard let tuples = PQcmdTuples(result) else { return 0 }
        return Int(String(cString: tuples)) ?? 0
    }

    private static func rows(of result: OpaquePointer) -> [PostgresRow] {
        let columnCount = PQnfields(result)
        let rowCount = PQntuples(result)
        let columns = PostgresColumns(
            names: (0..<columnCount).map { PQfname(result, $0).map { String(cString: $0) } ?? "" })
        return (0..<rowCount).map { row in
            let values: [String?] = (0..<columnCount).map { column in
                PQgetisnull(result, row, column) == 1
                    ? nil : String(cString: PQgetvalue(result, row, column))
            }
            return PostgresRow(columns: columns, values: values)
        }
    }
}

/// A connection belongs to one thread at a time: the pool moves it, callers cannot.
@available(*, unavailable)
extension PostgresConnection: Sendable {}
