import Logging
import Synchronization

/// A pooled Redis client over hiredis whose blocking calls run on threads it owns,
/// never on Swift's cooperative pool.
///
/// Create one per process, share it, and `await close()` at shutdown. Commands are never
/// retried after a connection failure, because they may have reached the server.
/// Commands must finish within ``RedisConfiguration/commandTimeout``.
public final class RedisClient: Sendable {
    private let pool: RedisConnectionPool
    /// SHA1 of each script loaded so far (the same on every connection of one server).
    private let scriptHashes = Mutex<[RedisScript: String]>([:])

    /// Starts `poolSize` threads; connections are opened lazily on first use.
    public init(configuration: RedisConfiguration, poolSize: Int = 4, logger: Logger) {
        pool = RedisConnectionPool(configuration: configuration, size: poolSize, logger: logger)
    }

    /// Sends one command and returns its reply.
    ///
    /// - Throws: `.server` for an error reply; `.connection` or `.timeout` when the
    ///   connection failed (it is then dropped); `.shutdown` after ``close()``.
    public func send(_ arguments: [String]) async throws(RedisError) -> RedisReply {
        try await send(bytes: arguments.map { Array($0.utf8) })
    }

    /// Sends one command given as variadic strings, e.g. `send("GET", key)`.
    public func send(_ arguments: String...) async throws(RedisError) -> RedisReply {
        try await send(arguments)
    }

    /// Sends one command given as binary-safe arguments (lengths are passed, so NUL bytes
    /// survive). An error reply throws `.server` with the server's message.
    public func send(bytes arguments: [[UInt8]]) async throws(RedisError) -> RedisReply {
        guard !arguments.isEmpty else { throw Self.emptyCommand }
        let reply = try await pool.withConnection { connection throws(RedisError) in
            try connection.command(arguments)
        }
        if case .error(let message) = reply { throw RedisError(.server, message).counted() }
        return reply
    }

    /// Sends several commands in one round trip and returns their replies in order.
    ///
    /// Error replies come back in place as ``RedisReply/error(_:)``; a connection failure
    /// throws, and then none, some or all commands may have run.
    public func pipeline(_ commands: [[String]]) async throws(RedisError) -> [RedisReply] {
        guard !commands.isEmpty else { return [] }
        guard commands.allSatisfy({ !$0.isEmpty }) else { throw Self.emptyCommand }
        let encoded = commands.map { $0.map { Array($0.utf8) } }
        return try await pool.withConnection { connection throws(RedisError) in
            for command in encoded { try connection.append(command) }
            var replies: [RedisReply] = []
            replies.reserveCapacity(encoded.count)
            for _ in encoded { replies.append(try connection.readReply()) }
            return replies
        }
    }

    /// Runs a Lua script with `EVALSHA`, loading it with `SCRIPT LOAD` on first use or
    /// when the server answers `NOSCRIPT` (after a restart or `SCRIPT FLUSH`), then
    /// retrying once: a `NOSCRIPT` answer means the script did not run.
    ///
    /// - Throws: `.server` when the script fails or does not compile.
    public func evalScript(
        _ script: RedisScript, keys: [String], arguments: [String]
    ) async throws(RedisError) -> RedisReply {
        let known = scriptHashes.withLock { $0[script] }
        let tail = ["\(keys.count)"] + keys + arguments
        let (reply, loaded) = try await pool.withConnection { connection throws(RedisError) in
            func evalSHA(_ hash: String) throws(RedisError) -> RedisReply {
                try connection.command((["EVALSHA", hash] + tail).map { Array($0.utf8) })
            }
            var hash: String
            if let known { hash = known } else { hash = try Self.load(script, on: connection) }
            var reply = try evalSHA(hash)
            if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
                hash = try Self.load(script, on: connection)
                reply = try evalSHA(hash)
            }
            return (reply, hash)
        }
        if loaded != known { scriptHashes.withLock { $0[script] = loaded } }
        if case .error(let message) = reply { throw RedisError(.server, message).counted() }
        return reply
    }

    /// Checks that Redis answers `PING`.
    public func ping() async throws(RedisError) {
        let reply = try await send("PING")
        guard reply == .status("PONG") else {
            throw RedisError(.protocolViolation, "PING answered \(reply) instead of PONG")
        }
    }

    /// Closes idle connections and the thread pool; later calls throw `.shutdown`.
    /// Commands already running finish first.
    public func close() async {
        await pool.close()
    }

    private static func load(_ script: RedisScript, on connection: RedisConnection) throws(RedisError) -> String {
        let reply = try connection.command([Array("SCRIPT".utf8), Array("LOAD".utf8), Array(script.source.utf8)])
        if case .error(let message) = reply { throw RedisError(.server, message) }
        guard let hash = reply.string else {
            throw RedisError(.protocolViolation, "SCRIPT LOAD answered \(reply) instead of a SHA1")
        }
        return hash
    }

    private static let emptyCommand = RedisError(.configuration, "a Redis command needs at least a name")
}
