import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One Redis connection on a SwiftNIO channel, usable from any task.
///
/// Created connecting: commands sent before the handshake is answered wait, unsent, and go
/// out right after it. Every call hops to the channel's event loop, where the
/// ``RedisChannelHandler`` owns all state; the caller's task waits on a continuation, so no
/// thread is ever blocked. Once closed (by either side) a connection stays closed: its owner
/// replaces it.
final class RedisChannelConnection: Sendable {
    let eventLoop: any EventLoop
    let server: String
    private let handler: RedisChannelHandler
    private let status = RedisConnectionStatus()
    private let nextID = Atomic<UInt64>(0)

    /// Starts connecting on `eventLoop` (an event loop of the process's shared group).
    ///
    /// - Parameters:
    ///   - closeOnCancel: a cancelled caller closes the connection at once (for blocking
    ///     commands, whose reply may be long in coming).
    ///   - onEvent: told, on the event loop, when the connection is ready, failed or ended.
    init(
        configuration: RedisConfiguration, eventLoop: any EventLoop, closeOnCancel: Bool = false,
        onEvent: @escaping @Sendable (RedisConnectionEvent) -> Void = { _ in }
    ) {
        self.eventLoop = eventLoop
        server = configuration.redactedDescription
        let machine = RedisConnectionStateMachine<RedisCaller>(
            server: server, handshake: Self.handshake(configuration), closeOnCancel: closeOnCancel)
        let handler = RedisChannelHandler(machine: machine, eventLoop: eventLoop, status: status, onEvent: onEvent)
        self.handler = handler
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
        let server = server
        let connecting: EventLoopFuture<any Channel>
        if let address = try? SocketAddress(ipAddress: configuration.host, port: configuration.port) {
            // A literal address needs no resolver (whose getaddrinfo would run on a thread pool);
            // a host name does not parse as one (the `try?`) and takes the resolving path below.
            connecting = bootstrap.connect(to: address)
        } else {
            connecting = bootstrap.connect(host: configuration.host, port: configuration.port)
        }
        connecting.whenFailure { error in
            handler.connectFailed(
                RedisError(.connection, "cannot connect to \(server): \(RedisConnectError.describe(error))"))
        }
    }

    /// Callers waiting for replies on this connection.
    var waitingCount: Int { status.waiting.load(ordering: .relaxed) }

    /// Whether the connection is gone (or never came up).
    var isClosed: Bool { status.isClosed.load(ordering: .acquiring) }

    /// Sends encoded commands and waits for `replyCount` replies, at most `timeout`.
    ///
    /// A cancelled caller is answered `.cancelled` at once; its command is then never sent, or
    /// its reply is discarded when it comes.
    func send(
        _ bytes: ByteBuffer, replyCount: Int, timeout: Duration
    ) async -> Result<[RedisReply], RedisError> {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let handler = handler
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (caller: RedisCaller) in
                guard !Task.isCancelled else {
                    caller.resume(returning: .failure(RedisError(.cancelled, "cancelled before the command was sent")))
                    return
                }
                status.waiting.add(1, ordering: .relaxed)
                let command = RedisConnectionStateMachine<RedisCaller>.Command(
                    id: id, bytes: bytes, replyCount: replyCount, deadline: .now() + TimeAmount(timeout),
                    timeout: timeout, caller: caller)
                if handler.eventLoop.inEventLoop {
                    handler.send(command)
                } else {
                    handler.eventLoop.execute { handler.send(command) }
                }
            }
        } onCancel: {
            handler.eventLoop.execute { handler.cancel(id) }
        }
    }

    /// Writes bytes whose replies nobody awaits (a subscriber's SUBSCRIBE, which turns the
    /// connection to push mode, and its `PING`s); dropped unless the connection is ready.
    func sendUntracked(_ bytes: ByteBuffer, entersPushMode: Bool = false) {
        let handler = handler
        eventLoop.execute { handler.sendUntracked(bytes, entersPushMode: entersPushMode) }
    }

    /// Sets the callback for replies on a subscribed connection (called on the event loop,
    /// before anything sent after this call is written).
    func onPush(_ body: @escaping @Sendable (RedisReply) -> Void) {
        let handler = handler
        eventLoop.execute { handler.onPush = body }
    }

    /// Closes gracefully (written commands are answered first) and waits until it is gone.
    func close() async {
        let handler = handler
        eventLoop.execute { handler.close() }
        // Only the moment matters: why it closed was reported to the callers it failed.
        try? await handler.closed.get()
    }

    /// Closes at once; waiting callers fail with `reason`.
    func abort(_ reason: RedisError) {
        let handler = handler
        eventLoop.execute { handler.abort(reason) }
    }

    /// Waits until the connection is gone and returns why (nil after our own close).
    func ended() async -> RedisError? {
        // The reason is read from the handler, not the future; a loop already shut down (the
        // process ends) has no reason left to give.
        try? await handler.closed.get()
        return try? await eventLoop.submit { [handler] in handler.endReason }.get()
    }

    /// AUTH (with the user name when set) and SELECT, as the configuration asks.
    private static func handshake(_ configuration: RedisConfiguration) -> [ByteBuffer] {
        var commands: [[String]] = []
        if let password = configuration.password {
            commands.append(["AUTH"] + (configuration.username.map { [$0] } ?? []) + [password])
        }
        if configuration.database != 0 { commands.append(["SELECT", "\(configuration.database)"]) }
        return commands.map { RESPEncoder.encode($0.map { Array($0.utf8) }) }
    }
}

/// Error texts for socket failures, in the words `strerror` uses ("Connection refused").
enum RedisConnectError {
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as NIOConnectionError:
            if let first = error.connectionErrors.first { return describe(first.error) }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve \(error.host): \(dns)" }
            return "cannot connect"
        case let error as IOError:
            return String(cString: strerror(error.errnoCode))
        case ChannelError.connectTimeout(let timeout):
            return "connect timed out after \(timeout)"
        case let error as RedisError:
            return error.message
        default:
            return "\(error)"
        }
    }
}

extension TimeAmount {
    /// A `Duration` in nanoseconds (saturating).
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let (nanos, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        self = .nanoseconds(overflow ? .max : nanos.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue)
    }
}
