import NIOCore

/// The life of one Redis connection as a value: what to write, whom to answer, when to close.
///
/// Generic over `Caller` (a continuation in the channel handler, a plain number in tests), so
/// the decisions are tested without sockets or clocks: the driver feeds events (connected, a
/// reply, a cancellation, the current time at a deadline) and performs the ``Action`` each
/// returns. Nothing here awaits or reads a clock.
///
/// Commands are pipelined by construction: every caller's bytes are written as soon as the
/// connection is ready, and replies are matched to callers in the order the commands were
/// written (`outstanding`, a FIFO). Until the handshake (AUTH, SELECT) has been answered,
/// commands wait in `queued`, unsent.
struct RedisConnectionStateMachine<Caller> {
    /// A command on the wire whose replies are still (partly) missing.
    private struct Outstanding {
        var id: UInt64
        var replyCount: Int
        var replies: [RedisReply] = []
        var deadline: NIODeadline
        var timeout: Duration
        /// `nil` once the caller was answered early (cancelled): its replies are discarded.
        var caller: Caller?

        init(_ command: Command) {
            id = command.id
            replyCount = command.replyCount
            deadline = command.deadline
            timeout = command.timeout
            caller = command.caller
        }
    }

    enum State {
        /// The TCP connect runs.
        case connecting
        /// AUTH and SELECT were written; this many of their replies are missing.
        case handshaking(remaining: Int)
        /// Commands are written as they come.
        case ready
        /// ``close()`` was called: no new commands; closes once the outstanding ones are answered.
        case closing
        /// The connection is gone; new commands fail with this error.
        case closed(RedisError)
    }

    /// The redacted URL, for error messages.
    let server: String
    private(set) var state: State = .connecting
    private var handshake: [ByteBuffer]
    private var queued = CircularBuffer<Command>()
    private var outstanding = CircularBuffer<Outstanding>()
    /// Cancellations that arrived before their command (a race between a task's cancellation
    /// handler and its send, both hopping to the event loop); such a command is never sent.
    private var earlyCancels = Set<UInt64>()
    /// Whether a cancelled caller's connection is closed at once (a blocking connection: the
    /// server may hold the reply for long, and nothing else waits behind it).
    private let closeOnCancel: Bool
    /// Set once a subscription is confirmed: every reply is then a pushed message.
    private(set) var pushMode = false

    /// `handshake` holds the encoded AUTH and SELECT commands (empty when neither is needed).
    init(server: String, handshake: [ByteBuffer], closeOnCancel: Bool = false) {
        self.server = server
        self.handshake = handshake
        self.closeOnCancel = closeOnCancel
    }

    /// How many callers wait for an answer (queued or written, not yet answered).
    var waitingCount: Int {
        queued.count + outstanding.lazy.filter { $0.caller != nil }.count
    }

    /// The earliest deadline to check: the oldest queued command's or the oldest written
    /// one's (callers share one timeout, so the oldest is the first due).
    var nextDeadline: NIODeadline? {
        [queued.first?.deadline, outstanding.first?.deadline].compactMap { $0 }.min()
    }

    // MARK: - Events

    /// The TCP connection is up: send the handshake, or, without one, what waited.
    mutating func connected() -> Action {
        guard case .connecting = state else { return .none }
        if handshake.isEmpty {
            state = .ready
            return flushQueued()
        }
        state = .handshaking(remaining: handshake.count)
        defer { handshake = [] }
        return .writeAll(handshake)
    }

    /// The TCP connect failed: every waiting caller fails; nothing was sent.
    mutating func connectFailed(_ error: RedisError) -> Action {
        closeAndFailAll(error, sent: error, close: false)
    }

    /// A caller sends a command.
    mutating func send(_ command: Command) -> Action {
        if earlyCancels.remove(command.id) != nil {
            return .fail(command.caller, RedisError(.cancelled, "cancelled before the command was sent"))
        }
        switch state {
        case .connecting, .handshaking:
            queued.append(command)
            return .none
        case .ready:
            guard !pushMode else {
                return .fail(command.caller, RedisError(.protocolViolation, "a subscribed connection takes no commands"))
            }
            outstanding.append(Outstanding(command))
            return .write(command.bytes)
        case .closing:
            return .fail(command.caller, RedisError(.shutdown, "the Redis client is closed"))
        case .closed(let error):
            return .fail(command.caller, error)
        }
    }

    /// Bytes whose replies nobody waits for: a subscriber's SUBSCRIBE (`entersPushMode`:
    /// from then on every reply is a ``Action/push(_:)``, confirmations included) and its
    /// `PING`s, whose answers arrive among the messages. Dropped unless the connection is
    /// ready and no command is outstanding.
    mutating func sendUntracked(_ bytes: ByteBuffer, entersPushMode: Bool = false) -> Action {
        guard case .ready = state, outstanding.isEmpty else { return .none }
        if entersPushMode { pushMode = true }
        return .write(bytes)
    }

    /// A whole reply arrived.
    mutating func received(_ reply: RedisReply) -> Action {
        switch state {
        case .connecting, .closed:
            return .none
        case .handshaking(let remaining):
            if case .error(let message) = reply {
                let error = RedisError(.configuration, "\(server) rejected the connection's AUTH or SELECT: \(message)")
                return closeAndFailAll(error, sent: error, close: true)
            }
            if remaining > 1 {
                state = .handshaking(remaining: remaining - 1)
                return .none
            }
            state = .ready
            return flushQueued()
        case .ready, .closing:
            guard !outstanding.isEmpty else {
                if pushMode { return .push(reply) }
                let error = RedisError(.protocolViolation, "\(server) sent a reply nobody asked for: \(reply)")
                return closeAndFailAll(error, sent: error, close: true)
            }
            outstanding[outstanding.startIndex].replies.append(reply)
            guard outstanding[outstanding.startIndex].replies.count == outstanding[outstanding.startIndex].replyCount
            else { return .none }
            let done = outstanding.removeFirst()
            let closeNow: Bool
            if case .closing = state, outstanding.isEmpty {
                state = .closed(RedisError(.shutdown, "the Redis client is closed"))
                closeNow = true
            } else {
                closeNow = false
            }
            guard let caller = done.caller else {
                return closeNow ? .failAll([], close: true) : .none
            }
            return closeNow ? .succeedAndClose(caller, done.replies) : .succeed(caller, done.replies)
        }
    }

    /// The bytes were not valid RESP: the stream cannot be trusted any more.
    mutating func protocolError(_ error: RedisError) -> Action {
        closeAndFailAll(error, sent: error, close: true)
    }

    /// The caller of command `id` stopped waiting (its task was cancelled).
    mutating func cancel(_ id: UInt64) -> Action {
        let cancelled = RedisError(.cancelled, "cancelled before the command was sent")
        if let index = queued.firstIndex(where: { $0.id == id }) {
            return .fail(queued.remove(at: index).caller, cancelled)
        }
        guard let index = outstanding.firstIndex(where: { $0.id == id && $0.caller != nil }) else {
            if case .closed = state { return .none }
            if earlyCancels.count < 10_000 { earlyCancels.insert(id) }
            return .none
        }
        let caller = outstanding[index].caller!
        let error = RedisError(.cancelled, "cancelled while waiting for the reply; the command may have run")
        if closeOnCancel {
            outstanding[index].caller = nil
            let closed = RedisError(.connection, "the connection to \(server) was closed because its caller was cancelled")
            var action = closeAndFailAll(closed, sent: closed, close: true)
            if case .failAll(var callers, let close) = action {
                callers.insert((caller, error), at: 0)
                action = .failAll(callers, close: close)
            }
            return action
        }
        // The reply will still come and is then discarded, keeping the FIFO in step.
        outstanding[index].caller = nil
        return .fail(caller, error)
    }

    /// The driver's timer fired at `now`.
    ///
    /// A queued command past its deadline fails unsent (and, during the handshake, closes
    /// the connection: the server stopped answering). A written one past its deadline means
    /// the server stopped answering: every written command fails with `.timeout` (they may
    /// have run) and the connection closes, since a late reply would arrive out of step.
    mutating func deadlinePassed(now: NIODeadline) -> Action {
        if let first = outstanding.first, first.deadline <= now {
            let error = RedisError(
                .timeout,
                "\(server) did not answer within \(first.timeout); the connection is closed and the command may have run")
            let notSent = RedisError(.timeout, "\(server) did not answer within \(first.timeout); the command was not sent")
            return closeAndFailAll(notSent, sent: error, close: true)
        }
        if case .handshaking = state, let first = queued.first, first.deadline <= now {
            // The server accepted the connection but does not answer AUTH or SELECT (frozen):
            // nothing was sent for the callers, and the connection is no use.
            let error = RedisError(
                .timeout, "\(server) did not answer AUTH or SELECT within \(first.timeout); the command was not sent")
            return closeAndFailAll(error, sent: error, close: true)
        }
        var expired: [(Caller, RedisError)] = []
        while let first = queued.first, first.deadline <= now {
            let command = queued.removeFirst()
            expired.append(
                (command.caller, RedisError(.timeout, "no connection to \(server) within \(command.timeout); the command was not sent")))
        }
        return expired.isEmpty ? .none : .failAll(expired, close: false)
    }

    /// The channel closed (EOF, a reset, or our own close): everyone still waiting fails.
    mutating func closed(_ error: RedisError?) -> Action {
        if case .closed = state {
            // Our own close: callers were already answered, except ones still outstanding.
            return closeAndFailAll(RedisError(.shutdown, "the Redis client is closed"), sent: nil, close: false)
        }
        let lost = error ?? RedisError(.connection, "\(server) closed the connection")
        let written = RedisError(lost.code, "\(lost.message); the command may have run")
        let unsent = RedisError(lost.code, "\(lost.message); the command was not sent")
        state = .closed(unsent)
        var callers: [(Caller, RedisError)] = []
        while let command = queued.popFirst() { callers.append((command.caller, unsent)) }
        while let entry = outstanding.popFirst() {
            if let caller = entry.caller { callers.append((caller, written)) }
        }
        return .failAll(callers, close: false)
    }

    /// The owner closes the connection: new commands fail with `.shutdown`, unsent ones too;
    /// the channel closes once written commands are answered (or their deadline passes).
    mutating func close() -> Action {
        let shutdown = RedisError(.shutdown, "the Redis client is closed")
        switch state {
        case .closed, .closing:
            return .none
        case .connecting, .handshaking:
            return closeAndFailAll(shutdown, sent: shutdown, close: true)
        case .ready:
            var callers: [(Caller, RedisError)] = []
            while let command = queued.popFirst() { callers.append((command.caller, shutdown)) }
            if outstanding.isEmpty || pushMode {
                return closeAndFailAll(shutdown, sent: shutdown, close: true)
            }
            state = .closing
            return .failAll(callers, close: false)
        }
    }

    // MARK: - Helpers

    /// Moves every queued command onto the wire.
    private mutating func flushQueued() -> Action {
        guard !queued.isEmpty else { return .none }
        var writes: [ByteBuffer] = []
        writes.reserveCapacity(queued.count)
        while let command = queued.popFirst() {
            outstanding.append(Outstanding(command))
            writes.append(command.bytes)
        }
        return .writeAll(writes)
    }

    /// Ends the connection: queued (unsent) callers get `unsent`, written ones `sent`
    /// (defaults to `unsent`).
    private mutating func closeAndFailAll(_ unsent: RedisError, sent: RedisError?, close: Bool) -> Action {
        if case .closed = state {} else { state = .closed(unsent) }
        var callers: [(Caller, RedisError)] = []
        while let command = queued.popFirst() { callers.append((command.caller, unsent)) }
        while let entry = outstanding.popFirst() {
            if let caller = entry.caller { callers.append((caller, sent ?? unsent)) }
        }
        return .failAll(callers, close: close)
    }
}

