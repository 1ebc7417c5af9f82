import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A pooled, pipelining Redis client on SwiftNIO channels; it starts no threads of its own.
///
/// Speaks RESP2 with hiredis's reader and formatter over sockets on the process's shared
/// event loops (`MultiThreadedEventLoopGroup.singleton`). Create one per process, share it,
/// and run it as a `Service` (or `await close()` at shutdown). Many callers use one
/// connection at once: their commands are written back to back and the replies matched in
/// order. Commands are never retried after a connection failure, because they may have
/// reached the server. Each call is bounded by ``RedisConfiguration/commandTimeout``.
public final class RedisClient: Sendable {
    private let pool: RedisConnectionPool
    /// SHA1 of each script loaded so far (the same on every connection of one server).
    private let scriptHashes = Mutex<[RedisScript: String]>([:])

    /// Prepares up to `poolSize` connections; they open lazily, as callers need them.
    public init(configuration: RedisConfiguration, poolSize: Int = 4, logger: Logger) {
        pool = RedisConnectionPool(
            configuration: configuration, size: poolSize, logger: logger, group: MultiThreadedEventLoopGroup.singleton)
    }

    /// Sends one command and returns its reply.
    ///
    /// - Throws: `.server` for an error reply; `.connection` or `.timeout` when the
    ///   connection failed (it is then dropped); `.cancelled` when the calling task was
    ///   cancelled; `.shutdown` after ``close()``.
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
        let reply = try await pool.send(RESPEncoder.encode(arguments), replyCount: 1)[0]
        if case .error(let message) = reply { throw RedisError(.server, message).counted() }
        return reply
    }

    /// Sends several commands in one write and returns their replies in order.
    ///
    /// Error replies come back in place as ``RedisReply/error(_:)``; a connection failure
    /// throws, and then none, some or all commands may have run.
    public func pipeline(_ commands: [[String]]) async throws(RedisError) -> [RedisReply] {
        guard !commands.isEmpty else { return [] }
        guard commands.allSatisfy({ !$0.isEmpty }) else { throw Self.emptyCommand }
        var buffer = ByteBuffer()
        for command in commands { RESPEncoder.encode(command.map { Array($0.utf8) }, into: &buffer) }
        return try await pool.send(buffer, replyCount: commands.count)
    }

    /// Runs a Lua script with `EVALSHA`, loading it with `SCRIPT LOAD` on first use or
    /// when the server answers `NOSCRIPT` (after a restart or `SCRIPT FLUSH`), then
    /// retrying once: a `NOSCRIPT` answer means the script did not run.
    ///
    /// - Throws: `.server` when the script fails or does not compile.
    public func evalScript(
        _ script: RedisScript, keys: [String], arguments: [String]
    ) async throws(RedisError) -> RedisReply {
        let tail = ["\(keys.count)"] + keys + arguments
        func evalSHA(_ hash: String) async throws(RedisError) -> RedisReply {
            try await pool.send(RESPEncoder.encode((["EVALSHA", hash] + tail).map { Array($0.utf8) }), replyCount: 1)[0]
        }
        var hash: String
        if let known = scriptHashes.withLock({ $0[script] }) { hash = known } else { hash = try await load(script) }
        var reply = try await evalSHA(hash)
        if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
            hash = try await load(script)
            reply = try await evalSHA(hash)
        }
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

    /// Closes the connections once the commands already written are answered; later calls
    /// throw `.shutdown`. Safe to call twice.
    public func close() async {
        await pool.close()
    }

    /// Loads a script and remembers its hash.
    private func load(_ script: RedisScript) async throws(RedisError) -> String {
        let command = [Array("SCRIPT".utf8), Array("LOAD".utf8), Array(script.source.utf8)]
        let reply = try await pool.send(RESPEncoder.encode(command), replyCount: 1)[0]
        if case .error(let message) = reply { throw RedisError(.server, message).counted() }
        guard let hash = reply.string else {
            throw RedisError(.protocolViolation, "SCRIPT LOAD answered \(reply) instead of a SHA1").counted()
        }
        scriptHashes.withLock { $0[script] = hash }
        return hash
    }

    private static let emptyCommand = RedisError(.configuration, "a Redis command needs at least a name")
}

extension RedisClient: Service {
    /// Holds the client's lifetime in a service group: waits for graceful shutdown (or
    /// cancellation), then closes the connections.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}
