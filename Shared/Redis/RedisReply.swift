/// One RESP2 reply, copied out of hiredis so no pointer outlives the call.
public enum RedisReply: Sendable, Hashable {
    /// A nil bulk string or nil array (`GET` of a missing key).
    case null
    /// A simple string such as `OK` or `PONG`.
    case status(String)
    /// An integer reply.
    case integer(Int)
    /// A bulk string: binary-safe bytes.
    case bulk([UInt8])
    /// An array of replies (`MGET`, `HGETALL`, `EXEC`, script results).
    case array([RedisReply])
    /// An error reply. ``RedisClient/send(_:)-(String...)`` throws these; ``RedisClient/pipeline(_:)``
    /// returns them in place.
    case error(String)

    /// A status, or a bulk string that is valid UTF-8; otherwise `nil`.
    public var string: String? {
        switch self {
        case .status(let text): text
        case .bulk(let bytes): String(validating: bytes, as: UTF8.self)
        default: nil
        }
    }

    /// An integer, or a bulk string or status that parses as a decimal `Int`; otherwise `nil`.
    public var int: Int? {
        switch self {
        case .integer(let value): value
        case .bulk, .status: string.flatMap { Int($0) }
        default: nil
        }
    }

    /// The elements of an array reply; `nil` for anything else.
    public var array: [RedisReply]? {
        if case .array(let elements) = self { elements } else { nil }
    }

    /// Whether this is the nil reply.
    public var isNull: Bool { self == .null }
}
