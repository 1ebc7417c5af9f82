/// An error from the PostgreSQL client.
///
/// The message is what libpq or the server said (the server's primary message), trimmed and
/// with the password masked; it never holds the SQL text or the parameters, so it is safe to
/// log and to show.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; an open set, so adding a kind breaks no caller.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Hashable, Sendable {
            case connection, server, decoding, configuration, shutdown, cancelled, timeout, poolTimeout
        }
        private let kind: Kind

        /// The database could not be reached, or the connection broke during a call.
        public static let connection = Code(kind: .connection)
        /// The server rejected the statement (see `sqlState`).
        public static let server = Code(kind: .server)
        /// A column was missing, NULL where a value was required, or not in the expected form.
        public static let decoding = Code(kind: .decoding)
        /// The settings (for example the database URL) are invalid.
        public static let configuration = Code(kind: .configuration)
        /// The client was closed.
        public static let shutdown = Code(kind: .shutdown)
        /// The calling task was cancelled: before the statement was sent, or while it ran (then
        /// the connection was closed, and the statement may or may not have run).
        public static let cancelled = Code(kind: .cancelled)
        /// The statement had no answer within `PostgresConfiguration.queryTimeout`: the
        /// connection was closed, and the statement may or may not have run.
        public static let timeout = Code(kind: .timeout)
        /// No pooled connection became free within `PostgresConfiguration.poolTimeout`; the
        /// statement was not sent.
        public static let poolTimeout = Code(kind: .poolTimeout)

        /// The kind's name, for logs.
        public var description: String { kind.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The server's primary message or libpq's message; never the SQL text or parameters.
    public let message: String
    /// The SQLSTATE the server reported, for example "23505".
    public let sqlState: String?

    /// Makes an error; `message` must already be free of SQL, parameters and secrets.
    public init(code: Code, message: String, sqlState: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
    }

    /// True when the server refused a row because of a unique constraint (SQLSTATE 23505).
    public var isUniqueViolation: Bool { sqlState == "23505" }

    /// The code, the SQLSTATE when there is one, and the message.
    public var description: String {
        if let sqlState {
            return "PostgreSQL \(code) error \(sqlState): \(message)"
        }
        return "PostgreSQL \(code) error: \(message)"
    }
}
