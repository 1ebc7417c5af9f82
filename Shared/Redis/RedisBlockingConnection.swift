import Logging
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A connection of its own, on a thread of its own, for commands that block on the server
/// (`XREADGROUP ... BLOCK`, `BLPOP`): such a command holds its connection for as long as it
/// waits, so it must neither run on Swift's cooperative pool nor hold a pooled connection.
///
/// It knows its server-side id (`CLIENT ID`, read once per connection), so that another
/// connection can cut a blocked command short with `CLIENT UNBLOCK <id>`. Commands run one at
/// a time, in order. A connection-level failure drops the connection; the next command
/// connects again. Cancelling the calling task shuts the socket down, which ends a blocked
/// read at once.
///
/// Lent through ``withConnection(configuration:logger:_:)``, which owns the thread's lifetime.
public final class RedisBlockingConnection: Sendable {
    private let configuration: RedisConfiguration
    private let thread: NIOThreadPool
    /// Only touched on `thread` (one thread: its work items never overlap).
    private let holder = Holder()
    /// The live socket and its client id, readable from any thread.
    private let live = Mutex<(descriptor: Int32?, clientID: Int?)>((nil, nil))

    /// The one `RedisConnection`, confined to the connection's thread.
    private final class Holder: @unchecked Sendable {
        var connection: RedisConnection?
    }

    private init(configuration: RedisConfiguration, thread: NIOThreadPool) {
        self.configuration = configuration
        self.thread = thread
    }

    /// Runs `body` with a blocking connection (nothing connects until the first command),
    /// then closes it and stops its thread.
    public static func withConnection<T>(
        configuration: RedisConfiguration, _ body: (RedisBlockingConnection) async throws -> T
    ) async rethrows -> T {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        let connection = RedisBlockingConnection(configuration: configuration, thread: thread)
        defer {
            // The thread's last work item frees the context; then the thread stops.
            thread.submit { _ in connection.disconnect() }
            thread.shutdownGracefully { _ in }
        }
        return try await body(connection)
    }

    /// The server's id of the current connection (`CLIENT ID`), nil while not connected or
    /// when the server refused to tell it.
    public var clientID: Int? {
        live.withLock { $0.clientID }
    }

    /// Sends one command that may block on the server for up to `blocking` (its own `BLOCK`
    /// or timeout argument): the socket waits that long plus ``RedisConfiguration/commandTimeout``.
    ///
    /// - Throws: `.server` for an error reply; `.connection` or `.timeout` when the connection
    ///   failed (it is dropped); `.cancelled` when the calling task was cancelled.
    public func send(_ arguments: [String], blocking: Duration = .zero) async throws(RedisError) -> RedisReply {
        guard !Task.isCancelled else { throw RedisError(.cancelled, "cancelled before the command was sent") }
        let encoded = arguments.map { Array($0.utf8) }
        let timeout = blocking + configuration.commandTimeout
        let outcome: Result<RedisReply, RedisError>
        do {
            outcome = try await withTaskCancellationHandler {
                try await thread.runIfActive { self.run(encoded, timeout: timeout) }
            } onCancel: {
                live.withLock { state in
                    if let descriptor = state.descriptor { _ = shutdown(descriptor, Int32(SHUT_RDWR)) }
                }
            }
        } catch {
            throw RedisError(.shutdown, "the blocking connection's thread has stopped")
        }
        switch outcome {
        case .success(.error(let message)): throw RedisError(.server, message).counted()
        case .success(let reply): return reply
        case .failure(let error):
            if Task.isCancelled { throw RedisError(.cancelled, "cancelled while the command ran") }
            throw error.counted()
        }
    }

    /// On the connection's thread: connects if needed, then sends the command.
    private func run(_ arguments: [[UInt8]], timeout: Duration) -> Result<RedisReply, RedisError> {
        do {
            let connection = try connected()
            try connection.setTimeout(timeout)
            return .success(try connection.command(arguments))
        } catch {
            disconnect()
            return .failure(error)
        }
    }

    /// The live connection, or a new one whose client id is read at once.
    private func connected() throws(RedisError) -> RedisConnection {
        if let connection = holder.connection, !connection.isBroken { return connection }
        disconnect()
        let connection = try RedisConnection(configuration: configuration)
        holder.connection = connection
        let reply = try connection.command([Array("CLIENT".utf8), Array("ID".utf8)])
        live.withLock { $0 = (connection.fileDescriptor, reply.int) }
        return connection
    }

    /// On the connection's thread: forgets the descriptor first (so that a cancellation can
    /// never shut down a descriptor number the process has reused), then frees the context.
    private func disconnect() {
        live.withLock { $0 = (nil, nil) }
        holder.connection?.close()
        holder.connection = nil
    }
}
