import NIOCore
import Synchronization

/// One subscribed connection's reading side, on its event loop: counts the SUBSCRIBE
/// confirmations, turns messages into events, and keeps ``SubscriberLiveness``'s timer.
///
/// Touched only on the connection's event loop (hence `@unchecked Sendable`), except
/// ``isSubscribed``, read by the subscriber's task once the connection has ended.
final class SubscriberSession: @unchecked Sendable {
    private let connection: RedisChannelConnection
    private let configuration: RedisConfiguration
    private var remainingConfirmations: Int
    private let emit: @Sendable (RedisSubscriberEvent) -> Void
    private let onSubscribed: @Sendable () -> Void
    private var liveness: SubscriberLiveness?
    private var timer: Scheduled<Void>?
    private let subscribed = Atomic<Bool>(false)

    init(
        connection: RedisChannelConnection, configuration: RedisConfiguration, expected: Int,
        emit: @escaping @Sendable (RedisSubscriberEvent) -> Void, onSubscribed: @escaping @Sendable () -> Void
    ) {
        self.connection = connection
        self.configuration = configuration
        self.remainingConfirmations = expected
        self.emit = emit
        self.onSubscribed = onSubscribed
    }

    /// Whether every confirmation arrived on this connection.
    var isSubscribed: Bool { subscribed.load(ordering: .acquiring) }

    /// Writes SUBSCRIBE/PSUBSCRIBE (turning the connection to push mode) and starts the
    /// liveness clock, so a server that never confirms is given up like a silent one.
    func start(_ subscribe: ByteBuffer) {
        connection.eventLoop.execute { [self] in
            liveness = SubscriberLiveness(
                pingInterval: configuration.subscriberPingInterval, readTimeout: configuration.subscriberReadTimeout,
                now: .now)
            tick()
        }
        connection.sendUntracked(subscribe, entersPushMode: true)
    }

    /// A reply on the subscribed connection.
    func received(_ reply: RedisReply) {
        liveness?.heard(at: .now)
        do throws(RedisError) {
            if remainingConfirmations > 0 {
                try confirm(reply)
            } else if let event = try Self.event(from: reply) {
                emit(event)
            }
        } catch {
            stop(error)
        }
    }

    private func confirm(_ reply: RedisReply) throws(RedisError) {
        if case .error(let message) = reply { throw RedisError(.server, message) }
        guard let kind = reply.array?.first?.string, kind == "subscribe" || kind == "psubscribe" else {
            throw RedisError(.protocolViolation, "unexpected reply to SUBSCRIBE: \(reply)")
        }
        remainingConfirmations -= 1
        guard remainingConfirmations == 0 else { return }
        subscribed.store(true, ordering: .releasing)
        emit(.subscribed)
        onSubscribed()
    }

    /// Waits, pings or gives up, as the liveness value decides at this instant.
    private func tick() {
        guard var current = liveness else { return }
        let action = current.next(at: .now)
        liveness = current
        switch action {
        case .wait(let timeout):
            timer = connection.eventLoop.scheduleTask(in: TimeAmount(timeout)) { [self] in tick() }
        case .ping:
            connection.sendUntracked(RESPEncoder.encode([Array("PING".utf8)]))
            tick()
        case .giveUp:
            stop(
                RedisError(
                    .timeout,
                    "\(connection.server) sent nothing, not even an answer to PING, for "
                        + "\(configuration.subscriberReadTimeout) (REDIS_SUBSCRIBER_TIMEOUT); dropping the connection "
                        + "to subscribe again. Check that Redis responds"))
        }
    }

    /// Stops the timer once the connection has ended.
    func finish() {
        connection.eventLoop.execute { [self] in
            timer?.cancel()
            timer = nil
            liveness = nil
        }
    }

    private func stop(_ error: RedisError) {
        timer?.cancel()
        timer = nil
        liveness = nil
        connection.abort(error)
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
