import NIOCore
import NIOPosix
import Synchronization

/// A connection of its own for commands that block on the server (`XREADGROUP ... BLOCK`,
/// `BLPOP`): such a command holds its connection for as long as it waits, so it must not
/// hold up the pipelined connections of ``RedisClient``.
///
/// It knows its server-side id (`CLIENT ID`, read once per connection), so that another
/// connection can cut a blocked command short with `CLIENT UNBLOCK <id>`. Commands run one at
/// a time, in order. A connection-level failure drops the connection; the next command
/// connects again. Cancelling the calling task closes the channel, which ends a blocked
/// read at once. Lives on an event loop of the process's shared group: no thread of its own.
///
/// Lent through ``withConnection(configuration:_:)``, which closes it at the end.
public final class RedisBlockingConnection: Sendable {
    private let configuration: RedisConfiguration
    private let live = Mutex<(connection: RedisChannelConnection?, clientID: Int?)>((nil, nil))

    private init(configuration: RedisConfiguration) {
        self.configuration = configuration
    }

    /// Runs `body` with a blocking connection (nothing connects until the first command),
    /// then closes it.
    public static func withConnection<T>(
        configuration: RedisConfiguration, _ body: (RedisBlockingConnection) async throws -> T
    ) async rethrows -> T {
        let connection = RedisBlockingConnection(configuration: configuration)
        defer { connection.disconnect() }
        return try await body(connection)
    }

    /// The server's id of the current connection (`CLIENT ID`), nil while not connected or
    /// when the server refused to tell it.
    public var clientID: Int? {
        live.withLock { $0.clientID }
    }

    /// Sends one command that may block on the server for up to `blocking` (its own `BLOCK`
    /// or timeout argument): the reply is awaited that long plus ``RedisConfiguration/commandTimeout``.
    ///
    /// - Throws: `.server` for an error reply; `.connection` or `.timeout` when the connection
    ///   failed (it is dropped); `.cancelled` when the calling task was cancelled.
    public func send(_ arguments: [String], blocking: Duration = .zero) async throws(RedisError) -> RedisReply {
        guard !Task.isCancelled else { throw RedisError(.cancelled, "cancelled before the command was sent") }
        let connection = try await connected()
        let bytes = RESPEncoder.encode(arguments.map { Array($0.utf8) })
        let outcome = await connection.send(bytes, replyCount: 1, timeout: blocking + configuration.commandTimeout)
        switch outcome {
        case .success(let replies):
            if case .error(let message) = replies[0] { throw RedisError(.server, message).counted() }
            return replies[0]
        case .failure(let error):
            drop(connection)
            throw error.counted()
        }
    }

    /// The live connection, or a new one whose client id is read at once.
    private func connected() async throws(RedisError) -> RedisChannelConnection {
        if let connection = live.withLock({ $0.connection }), !connection.isClosed { return connection }
        disconnect()
        let connection = RedisChannelConnection(
            configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), closeOnCancel: true)
        let identified = await connection.send(
            RESPEncoder.encode([Array("CLIENT".utf8), Array("ID".utf8)]), replyCount: 1,
            timeout: configuration.connectTimeout + configuration.commandTimeout)
        switch identified {
        case .success(let replies):
            live.withLock { $0 = (connection, replies[0].int) }
            return connection
        case .failure(let error):
            connection.abort(error)
            throw error.counted()
        }
    }

    /// Forgets `connection` if it is still the live one, and closes it.
    private func drop(_ connection: RedisChannelConnection) {
        live.withLock { state in
            if state.connection === connection { state = (nil, nil) }
        }
        connection.abort(RedisError(.connection, "the blocking connection was dropped"))
    }

    /// Closes the current connection, if any.
    private func disconnect() {
        let connection = live.withLock { state in
            defer { state = (nil, nil) }
            return state.connection
        }
        connection?.abort(RedisError(.shutdown, "the blocking connection is closed"))
    }
}
