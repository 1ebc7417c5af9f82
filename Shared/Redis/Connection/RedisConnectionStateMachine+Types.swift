import NIOCore

extension RedisConnectionStateMachine {
    /// One caller's command (or pipeline): its bytes and how many replies it waits for.
    struct Command {
        var id: UInt64
        var bytes: ByteBuffer
        var replyCount: Int
        /// When the caller stops waiting; a reply still missing then means the server stalled.
        var deadline: NIODeadline
        /// How long the caller waits, for error messages.
        var timeout: Duration
        var caller: Caller
    }

    /// What the driver does after an event.
    enum Action {
        case none
        /// Write these bytes (a caller's command).
        case write(ByteBuffer)
        /// Write these (the handshake, or the commands that waited for it), in order.
        case writeAll([ByteBuffer])
        /// Answer a caller.
        case succeed(Caller, [RedisReply])
        /// Answer a caller, then close the channel (the last reply a graceful close waited for).
        case succeedAndClose(Caller, [RedisReply])
        /// A pub/sub message (or `pong`) on a connection in push mode.
        case push(RedisReply)
        /// Fail one caller; the connection stays.
        case fail(Caller, RedisError)
        /// Fail these callers, and close the channel when `close` is set.
        case failAll([(Caller, RedisError)], close: Bool)
    }
}

extension RedisConnectionStateMachine.Command: Sendable where Caller: Sendable {}
