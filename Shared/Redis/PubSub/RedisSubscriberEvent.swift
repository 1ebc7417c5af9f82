/// What a ``RedisSubscriber`` reports to its consumer.
public enum RedisSubscriberEvent: Sendable, Equatable {
    /// All channels and patterns are subscribed, after the first connection and after every
    /// reconnection. Messages published while disconnected are lost, so consumers
    /// reconcile their state from Redis (or the database) when they see this.
    case subscribed
    /// A published message. For a pattern subscription, `channel` is the actual channel.
    case message(channel: String, payload: [UInt8])
}
