import CLibPQ

/// Turning libpq's results and messages into `PostgresResult` and `PostgresError`.
extension PostgresConnection {
    /// What a caller sees when a statement outlived its deadline.
    static func timeoutError(_ timeout: Duration) -> PostgresError {
        PostgresError(
            code: .timeout,
            message: "PostgreSQL (or PgBouncer) did not answer within the query timeout of \(timeout) "
                + "(DB_QUERY_TIMEOUT), so the connection was closed; the statement may or may not have run. "
                + "Check that PgBouncer and PostgreSQL respond, or raise the timeout for slow statements.")
    }

    /// Turns a `PGresult` into rows or an error, and frees it.
    func consume(_ result: OpaquePointer?, handle: OpaquePointer) throws(PostgresError) -> PostgresResult {
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
    func serverError(_ result: OpaquePointer, handle: OpaquePointer) -> PostgresError {
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
    static let diagnosticSQLState = Int32(UInt8(ascii: "C"))  // PG_DIAG_SQLSTATE
    static let diagnosticPrimaryMessage = Int32(UInt8(ascii: "M"))  // PG_DIAG_MESSAGE_PRIMARY

    func errorCode(_ handle: OpaquePointer) -> PostgresError.Code {
        PQstatus(handle) == CONNECTION_BAD ? .connection : .server
    }

    /// libpq's last message (never holds the SQL), trimmed and on one line.
    func libpqMessage() -> String {
        guard let handle, let raw = PQerrorMessage(handle) else { return "Unknown libpq error." }
        let message = clean(String(cString: raw))
        return message.isEmpty ? "Unknown libpq error." : message
    }

    /// The line without leading and trailing whitespace.
    static func trimmed(_ line: Substring) -> Substring {
        let start = line.firstIndex { !$0.isWhitespace } ?? line.endIndex
        let end = line.lastIndex { !$0.isWhitespace }.map(line.index(after:)) ?? start
        return line[start..<end]
    }

    /// Trims, joins lines, and masks the password in case a message ever echoes it.
    func clean(_ text: String) -> String {
        var message = text.split(whereSeparator: \.isNewline)
            .map(Self.trimmed)
            .filter { !$0.isEmpty }
            .joined(separator: " ")
        if let password, !password.isEmpty {
            message = message.replacing(password, with: "***")
        }
        return message
    }

    static func affectedRows(_ result: OpaquePointer) -> Int {
        guard let tuples = PQcmdTuples(result) else { return 0 }
        return Int(String(cString: tuples)) ?? 0
    }

    static func rows(of result: OpaquePointer) -> [PostgresRow] {
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
