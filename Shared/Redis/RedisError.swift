/// An error from the Redis client: a stable ``Code`` to branch on and a message for people.
///
/// Messages name the server by its redacted URL and never contain a password.
public struct RedisError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added, so `switch` with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Hashable, Sendable {
            case connection, timeout, server, protocolViolation, configuration, shutdown, cancelled, poolTimeout
        }
        private let kind: Kind

        /// The server could not be reached, closed the connection, or is in a reconnect backoff.
        public static let connection = Code(kind: .connection)
        /// A command did not complete within ``RedisConfiguration/commandTimeout``.
        public static let timeout = Code(kind: .timeout)
        /// Redis answered with an error reply (the message is the server's text).
        public static let server = Code(kind: .server)
        /// The server sent something that is not valid RESP, or an unexpected reply shape.
        public static let protocolViolation = Code(kind: .protocolViolation)
        /// The configuration is unusable: a malformed URL, a rejected password, a bad database.
        public static let configuration = Code(kind: .configuration)
        /// The client was closed before or while the call ran.
        public static let shutdown = Code(kind: .shutdown)
        /// The calling task was cancelled: before the command was sent, or while it waited for
        /// the reply (the command may then have run; its reply is discarded).
        public static let cancelled = Code(kind: .cancelled)
        /// No pooled connection became free within ``RedisConfiguration/poolTimeout``; the
        /// command was not sent. No longer produced by ``RedisClient``, whose callers share
        /// pipelined connections instead of waiting for one; kept so `switch`es still compile.
        public static let poolTimeout = Code(kind: .poolTimeout)

        /// The code's name, e.g. `connection`.
        public var description: String { kind.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// A human-readable explanation, without secrets.
    public let message: String

    /// Creates an error; `message` must not contain a password.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `Redis <code> error: <message>`.
    public var description: String { "Redis \(code) error: \(message)" }
}
