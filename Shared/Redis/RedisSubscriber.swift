import Logging
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A dedicated connection on its own thread that only reads pub/sub messages.
///
/// Call ``run()`` once (e.g. from a service) and consume ``events`` from one task.
/// The stream is unbounded: a consumer that falls behind uses memory, not message loss.
/// A consumer whose handling never blocks may instead pass `onEvent`, which runs on the
/// subscriber's thread: each message then costs no hand-off to a task.
public final class RedisSubscriber: Sendable {
    private let configuration: RedisConfiguration
    private let channels: [String]
    private let patterns: [String]
    private let logger: Logger
    private let stream: AsyncStream<RedisSubscriberEvent>
    private let continuation: AsyncStream<RedisSubscriberEvent>.Continuation
    private let onEvent: (@Sendable (RedisSubscriberEvent) -> Void)?

    /// Prepares a subscriber for exact `channels` and glob `patterns`; nothing connects yet.
    /// With `onEvent`, events go to it, called on the subscriber's thread (so it must return
    /// quickly and never block), and ``events`` stays empty.
    public init(
        configuration: RedisConfiguration, channels: [String], patterns: [String] = [], logger: Logger,
        onEvent: (@Sendable (RedisSubscriberEvent) -> Void)? = nil
    ) {
        self.configuration = configuration
        self.channels = channels
        self.patterns = patterns
        self.onEvent = onEvent
        var logger = logger
        logger[metadataKey: "redis"] = "\(configuration.redactedDescription)"
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(of: RedisSubscriberEvent.self)
    }

    /// Subscription events, for a single consumer; the stream finishes when ``run()`` returns.
    public var events: AsyncStream<RedisSubscriberEvent> { stream }

    /// Connects, subscribes and reads until the calling task is cancelled.
    ///
    /// On any connection loss it reconnects with exponential backoff (50 ms doubling to
    /// 2 s, with jitter), subscribes again and emits ``RedisSubscriberEvent/subscribed``.
    /// A connection that stays silent is pinged every
    /// ``RedisConfiguration/subscriberPingInterval``, and counts as lost once nothing at all
    /// arrived for ``RedisConfiguration/subscriberReadTimeout`` (a frozen server, a half-open
    /// connection). Cancellation shuts the socket down, which ends a blocked read at once.
    public func run() async {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        let socket = CancellableSocket()
        var backoff = Backoff()
        var healthy = true
        await withTaskCancellationHandler {
            while !Task.isCancelled {
                let reconnecting = !healthy
                // Throws only when cancelled before the thread picked the session up.
                guard let end = try? await thread.runIfActive({ self.session(socket, reconnecting: reconnecting) }),
                    !Task.isCancelled
                else { break }
                _ = end.error.counted()
                if end.subscribed { backoff.reset() }
                let delay = backoff.nextDelay()
                let metadata: Logger.Metadata = ["error": "\(end.error)", "retry_in": "\(Backoff.format(delay))"]
                if end.subscribed {
                    logger.warning("Redis subscription lost; reconnecting", metadata: metadata)
                } else if healthy {
                    logger.warning("Cannot subscribe to Redis; retrying", metadata: metadata)
                } else {
                    logger.debug("Redis still unreachable for subscribing", metadata: metadata)
                }
                healthy = false
                do { try await Task.sleep(for: delay) } catch { break }
            }
        } onCancel: {
            socket.cancel()
        }
        continuation.finish()
        try? await thread.shutdownGracefully()
    }

    /// How one connection's life ended.
    private struct SessionEnd: Sendable {
        var subscribed = false
        var error: RedisError
    }

    /// One connection's life, on the subscriber's thread: connect, subscribe, then read
    /// until the connection fails (or is shut down by cancellation).
    private func session(_ socket: CancellableSocket, reconnecting: Bool) -> SessionEnd {
        let connection: RedisConnection
        do {
            connection = try RedisConnection(configuration: configuration)
        } catch {
            return SessionEnd(error: error)
        }
        defer {
            // Forget the descriptor before freeing it, so cancel() cannot shut down a
            // descriptor number that the process has already reused.
            socket.unregister()
            connection.close()
        }
        guard socket.register(connection.fileDescriptor) else {
            return SessionEnd(error: RedisError(.cancelled, "subscriber cancelled"))
        }
        var end = SessionEnd(error: RedisError(.connection, "subscription ended"))
        do {
            try subscribe(on: connection)
            end.subscribed = true
            emit(.subscribed)
            if reconnecting { logger.info("Redis subscription re-established") }
            try read(from: connection)
        } catch {
            end.error = error
        }
        return end
    }

    /// Reads messages until the connection fails or falls silent past the read timeout,
    /// sending `PING` while it is quiet; throws how it ended.
    private func read(from connection: RedisConnection) throws(RedisError) -> Never {
        var liveness = SubscriberLiveness(
            pingInterval: configuration.subscriberPingInterval, readTimeout: configuration.subscriberReadTimeout,
            now: .now)
        while true {
            switch liveness.next(at: .now) {
            case .wait(let timeout):
                guard let reply = try connection.readReply(within: timeout) else { continue }
                liveness.heard(at: .now)
                if let event = try Self.event(from: reply) { emit(event) }
            case .ping:
                try connection.send([Array("PING".utf8)])
            case .giveUp:
                throw RedisError(
                    .timeout,
                    "\(connection.server) sent nothing, not even an answer to PING, for "
                        + "\(configuration.subscriberReadTimeout) (REDIS_SUBSCRIBER_TIMEOUT); dropping the connection to subscribe "
                        + "again. Check that Redis responds")
            }
        }
    }

    private func emit(_ event: RedisSubscriberEvent) {
        if let onEvent { onEvent(event) } else { continuation.yield(event) }
    }

    /// Sends SUBSCRIBE and PSUBSCRIBE in one round trip and waits for every confirmation
    /// (within the command timeout). The socket keeps that timeout afterwards: reads only
    /// follow poll(2) (see ``read(from:)``), so it bounds the PINGs' writes alone.
    private func subscribe(on connection: RedisConnection) throws(RedisError) {
        var expected = 0
        for (command, names) in [("SUBSCRIBE", channels), ("PSUBSCRIBE", patterns)] where !names.isEmpty {
            try connection.append(([command] + names).map { Array($0.utf8) })
            expected += names.count
        }
        for _ in 0..<expected {
            let reply = try connection.readReply()
            if case .error(let message) = reply { throw RedisError(.server, message) }
            guard let kind = reply.array?.first?.string, kind == "subscribe" || kind == "psubscribe" else {
                throw RedisError(.protocolViolation, "unexpected reply to SUBSCRIBE: \(reply)")
            }
        }
    }

    /// `message` and `pmessage` become events; anything else (a `pong`, a late confirmation)
    /// is skipped.
    private static func event(from reply: RedisReply) throws(RedisError) -> RedisSubscriberEvent? {
        guard let parts = reply.array, let kind = parts.first?.string else {
            throw RedisError(.protocolViolation, "unexpected pub/sub reply: \(reply)")
        }
        switch (kind, parts.count) {
        case ("message", 3):
            guard case .bulk(let channel) = parts[1], case .bulk(let payload) = parts[2] else { break }
            return .message(channel: String(decoding: channel, as: UTF8.self), payload: payload)
        case ("pmessage", 4):
            guard case .bulk(let channel) = parts[2], case .bulk(let payload) = parts[3] else { break }
            return .message(channel: String(decoding: channel, as: UTF8.self), payload: payload)
        default:
            return nil
        }
        throw RedisError(.protocolViolation, "malformed \(kind) reply")
    }
}

/// The subscriber's current socket, shut down from the cancellation handler to wake a
/// thread blocked in `read(2)`.
private final class CancellableSocket: Sendable {
    private let state = Mutex<(descriptor: Int32?, cancelled: Bool)>((nil, false))

    /// Records the live descriptor; `false` if cancellation already happened.
    func register(_ descriptor: Int32) -> Bool {
        state.withLock { state in
            guard !state.cancelled else { return false }
            state.descriptor = descriptor
            return true
        }
    }

    func unregister() {
        state.withLock { $0.descriptor = nil }
    }

    func cancel() {
        state.withLock { state in
            state.cancelled = true
            if let descriptor = state.descriptor { _ = shutdown(descriptor, Int32(SHUT_RDWR)) }
        }
    }
}
