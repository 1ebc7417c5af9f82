import EventLoopExecution
import Logging
import NIOCore
import NIOPosix
import Reconnect

/// A dedicated connection in subscribe mode that only reads pub/sub messages.
///
/// Call ``run()`` once (e.g. from a service) and consume ``events`` from one task.
/// The stream is unbounded: a consumer that falls behind uses memory, not message loss.
/// A consumer whose handling never blocks may instead pass `onEvent`, which runs on the
/// connection's event loop: each message then costs no hand-off to a task. The connection
/// lives on the process's shared event loops; the subscriber starts no thread.
public final class RedisSubscriber: Sendable {
    private let configuration: RedisConfiguration
    private let channels: [String]
    private let patterns: [String]
    private let logger: Logger
    private let stream: AsyncStream<RedisSubscriberEvent>
    private let continuation: AsyncStream<RedisSubscriberEvent>.Continuation
    private let onEvent: (@Sendable (RedisSubscriberEvent) -> Void)?

    /// Prepares a subscriber for exact `channels` and glob `patterns`; nothing connects yet.
    /// With `onEvent`, events go to it, called on the connection's event loop (so it must
    /// return quickly and never block), and ``events`` stays empty.
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
    /// connection). Cancellation closes the channel at once.
    public func run() async {
        var backoff = Backoff()
        var healthy = true
        while !Task.isCancelled {
            let end = await session(reconnecting: !healthy)
            guard !Task.isCancelled else { break }
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
            do { try await Task.sleep(for: delay, clock: .eventLoop) } catch { break }
        }
        continuation.finish()
    }

    /// How one connection's life ended.
    private struct SessionEnd: Sendable {
        var subscribed: Bool
        var error: RedisError
    }

    /// One connection's life: connect (a `PING` proves the handshake done), subscribe, then
    /// read on the event loop until the connection ends or the task is cancelled.
    private func session(reconnecting: Bool) async -> SessionEnd {
        let connection = RedisChannelConnection(
            configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        let session = SubscriberSession(
            connection: connection, configuration: configuration, expected: channels.count + patterns.count,
            emit: { [self] event in emit(event) },
            onSubscribed: { [logger] in if reconnecting { logger.info("Redis subscription re-established") } })
        return await withTaskCancellationHandler {
            let ping = await connection.send(
                RESPEncoder.encode([Array("PING".utf8)]), replyCount: 1,
                timeout: configuration.connectTimeout + configuration.commandTimeout)
            if case .failure(let error) = ping {
                connection.abort(error)
                return SessionEnd(subscribed: false, error: error)
            }
            connection.onPush { reply in session.received(reply) }
            var subscribe = ByteBuffer()
            for (command, names) in [("SUBSCRIBE", channels), ("PSUBSCRIBE", patterns)] where !names.isEmpty {
                RESPEncoder.encode(([command] + names).map { Array($0.utf8) }, into: &subscribe)
            }
            session.start(subscribe)
            let reason = await connection.ended()
            session.finish()
            return SessionEnd(
                subscribed: session.isSubscribed,
                error: reason ?? RedisError(.connection, "\(connection.server): the subscription ended"))
        } onCancel: {
            connection.abort(RedisError(.cancelled, "subscriber cancelled"))
        }
    }

    private func emit(_ event: RedisSubscriberEvent) {
        if let onEvent { onEvent(event) } else { continuation.yield(event) }
    }
}
