/// A Lua script run with `EVALSHA`; ``RedisClient`` loads it on first use and after `NOSCRIPT`.
///
/// Declare scripts once (e.g. as `static let`), so the client's SHA cache stays small.
public struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    public let source: String

    /// Wraps Lua source.
    public init(_ source: String) {
        self.source = source
    }
}
