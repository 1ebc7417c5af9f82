import NIOCore
import Synchronization

/// How a caller waits for its replies: resumed exactly once, on the event loop.
typealias RedisCaller = UnsafeContinuation<Result<[RedisReply], RedisError>, Never>

/// What one connection tells its owner (the pool or a subscriber), on its event loop.
enum RedisConnectionEvent: Sendable {
    /// The handshake was answered; commands flow.
    case ready
    /// The TCP connect failed (or the handshake was refused); nothing was sent.
    case connectFailed(RedisError)
    /// The connection ended; `error` says why (nil after our own close), `hadWaiters` whether
    /// callers were failed by it.
    case closed(RedisError?, hadWaiters: Bool)
}

/// Numbers a caller's thread reads without hopping to the event loop.
final class RedisConnectionStatus: Sendable {
    /// Callers that sent and are not answered yet (the pool spreads load by it).
    let waiting = Atomic<Int>(0)
    /// Set when the channel is gone (or never came up); the pool then replaces it.
    let isClosed = Atomic<Bool>(false)
}

/// Performs what ``RedisConnectionStateMachine`` decides, on one channel.
///
/// Thin by design: it feeds bytes to the ``RESPDecoder``, events to the machine, and
/// turns actions into writes, answers and a close. It keeps one timer armed at the machine's
/// next deadline. Touched only on its event loop (hence `@unchecked Sendable`: the
/// connection that owns it hops there for every call).
final class RedisChannelHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let eventLoop: any EventLoop
    private var machine: RedisConnectionStateMachine<RedisCaller>
    private let decoder = RESPDecoder()
    private let status: RedisConnectionStatus
    private let onEvent: @Sendable (RedisConnectionEvent) -> Void
    private let closedPromise: EventLoopPromise<Void>
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    private var flushPending = false
    /// Why we close the channel ourselves (timeout, protocol error), reported when it is gone.
    private var closeReason: RedisError?
    private var reported = false
    private var announcedReady = false
    /// Whether closing this connection failed callers (a timeout, a protocol error), which
    /// makes its end a lost connection rather than an idle one going away.
    private var failedWaiters = false
    /// Replies on a subscribed connection, e.g. for ``RedisSubscriber``.
    var onPush: ((RedisReply) -> Void)?

    init(
        machine: RedisConnectionStateMachine<RedisCaller>, eventLoop: any EventLoop, status: RedisConnectionStatus,
        onEvent: @escaping @Sendable (RedisConnectionEvent) -> Void
    ) {
        self.machine = machine
        self.eventLoop = eventLoop
        self.status = status
        self.onEvent = onEvent
        closedPromise = eventLoop.makePromise()
    }

    /// Succeeds once the connection is gone for good (closed, or never connected).
    var closed: EventLoopFuture<Void> { closedPromise.futureResult }

    /// Why the connection ended, once ``closed`` succeeded.
    private(set) var endReason: RedisError?

    // MARK: - From the owner (on the event loop)

    func send(_ command: RedisConnectionStateMachine<RedisCaller>.Command) {
        perform(machine.send(command))
    }

    func sendUntracked(_ bytes: ByteBuffer, entersPushMode: Bool) {
        perform(machine.sendUntracked(bytes, entersPushMode: entersPushMode))
    }

    func cancel(_ id: UInt64) {
        perform(machine.cancel(id))
    }

    /// Graceful close: written commands are answered first.
    func close() {
        perform(machine.close())
    }

    /// Closes at once, with `reason` for the callers still waiting.
    func abort(_ reason: RedisError) {
        if closeReason == nil, reason.code != .shutdown { closeReason = reason }
        perform(machine.protocolError(reason))
    }

    func connectFailed(_ error: RedisError) {
        status.isClosed.store(true, ordering: .releasing)
        perform(machine.connectFailed(error))
        finish(.connectFailed(error), reason: error)
    }

    // MARK: - ChannelInboundHandler

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { perform(machine.connected()) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .closed = machine.state {
            // Closed by the owner while the connect ran.
            context.close(promise: nil)
        }
        perform(machine.connected())
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        do {
            try decoder.feed(buffer)
            while let reply = try decoder.next() {
                perform(machine.received(reply))
            }
        } catch {
            closeReason = closeReason ?? error
            perform(machine.protocolError(error))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        closeReason = closeReason ?? RedisError(.connection, "\(machine.server): \(RedisConnectError.describe(error))")
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        status.isClosed.store(true, ordering: .releasing)
        let hadWaiters = failedWaiters || machine.waitingCount > 0
        let ownClose: Bool
        if case .closed = machine.state, closeReason == nil { ownClose = true } else { ownClose = false }
        perform(machine.closed(closeReason))
        timer?.cancel()
        timer = nil
        self.context = nil
        let reason = ownClose ? nil : (closeReason ?? RedisError(.connection, "\(machine.server) closed the connection"))
        if let reason, !announcedReady {
            // The handshake never completed (refused, or no answer): for the owner this is a
            // failed connect, which opens the backoff window.
            finish(.connectFailed(reason), reason: reason)
        } else {
            finish(.closed(reason, hadWaiters: hadWaiters), reason: reason)
        }
        context.fireChannelInactive()
    }

    // MARK: - Performing actions

    /// Tells the owner once that the handshake is done.
    private func announceReadyOnce() {
        guard !announcedReady, case .ready = machine.state else { return }
        announcedReady = true
        onEvent(.ready)
    }

    private func perform(_ action: RedisConnectionStateMachine<RedisCaller>.Action) {
        switch action {
        case .none:
            break
        case .write(let bytes):
            write(bytes)
        case .writeAll(let all):
            for bytes in all { write(bytes) }
        case .succeed(let caller, let replies):
            answer(caller, .success(replies))
        case .succeedAndClose(let caller, let replies):
            status.isClosed.store(true, ordering: .releasing)
            answer(caller, .success(replies))
            closeChannel()
        case .push(let reply):
            onPush?(reply)
        case .fail(let caller, let error):
            answer(caller, .failure(error))
        case .failAll(let callers, let close):
            if close {
                // Marked closed before any caller resumes, so that a caller's next command
                // already goes to a new connection.
                status.isClosed.store(true, ordering: .releasing)
                if callers.contains(where: { $0.1.code != .shutdown && $0.1.code != .cancelled }) { failedWaiters = true }
                if closeReason == nil, let error = callers.first?.1, error.code != .shutdown { closeReason = error }
            }
            for (caller, error) in callers { answer(caller, .failure(error)) }
            if close { closeChannel() }
        }
        armTimer()
        if !announcedReady { announceReadyOnce() }
    }

    private func answer(_ caller: RedisCaller, _ result: Result<[RedisReply], RedisError>) {
        status.waiting.subtract(1, ordering: .relaxed)
        caller.resume(returning: result)
    }

    /// Writes now and flushes once per event-loop turn, so commands from many callers that
    /// arrive together leave in one `write(2)`.
    private func write(_ bytes: ByteBuffer) {
        guard let context else { return }
        context.write(wrapOutboundOut(bytes), promise: nil)
        guard !flushPending else { return }
        flushPending = true
        eventLoop.execute { [self] in
            flushPending = false
            self.context?.flush()
        }
    }

    /// Closes the channel; before it is connected, the connect's outcome finishes the handler
    /// (see ``channelActive(context:)``).
    private func closeChannel() {
        status.isClosed.store(true, ordering: .releasing)
        context?.close(promise: nil)
    }

    /// One timer at a time, at the machine's next deadline.
    private func armTimer() {
        guard timer == nil, let deadline = machine.nextDeadline else { return }
        timer = eventLoop.scheduleTask(deadline: deadline) { [self] in
            timer = nil
            perform(machine.deadlinePassed(now: .now()))
        }
    }

    private func finish(_ event: RedisConnectionEvent, reason: RedisError?) {
        guard !reported else { return }
        reported = true
        endReason = reason
        timer?.cancel()
        timer = nil
        onEvent(event)
        closedPromise.succeed()
    }
}
