import CHiredis

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns one blocking `redisContext*` and hides it behind byte-array commands.
///
/// Not `Sendable`: every call blocks, so it is used by exactly one pool thread at a time
/// and only handed between threads by ``RedisClient``'s pool or by ``RedisSubscriber``.
/// Once any call fails at the connection level, ``isBroken`` is set and the owner must
/// ``close()`` it: hiredis leaves a failed context (e.g. after a timeout) unusable.
final class RedisConnection {
    private var context: UnsafeMutablePointer<redisContext>?
    /// The redacted URL, for error messages.
    let server: String
    private let commandTimeout: Duration
    /// Whether the context reported an error; such a connection is never reused.
    private(set) var isBroken = false

    /// hiredis writes with `write(2)`, which raises SIGPIPE on a connection the server
    /// closed; the default action would kill the process, so ignore it once, process-wide
    /// (as SwiftNIO does), and let the write fail with EPIPE instead.
    private static let sigpipeIgnored: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// Connects, sets the command timeout and TCP keepalive, then sends AUTH and SELECT.
    init(configuration: RedisConfiguration) throws(RedisError) {
        Self.sigpipeIgnored
        server = configuration.redactedDescription
        commandTimeout = configuration.commandTimeout
        guard
            let context = redisConnectWithTimeout(
                configuration.host, Int32(clamping: configuration.port), timeval(configuration.connectTimeout))
        else {
            throw RedisError(.connection, "cannot connect to \(server): out of memory")
        }
        self.context = context
        guard context.pointee.err == 0 else {
            isBroken = true
            throw RedisError(.connection, "cannot connect to \(server): \(errorText(context))")
        }
        try setTimeout(configuration.commandTimeout)
        guard redisEnableKeepAlive(context) == REDIS_OK else { throw failure() }
        if let password = configuration.password {
            let auth = ["AUTH"] + (configuration.username.map { [$0] } ?? []) + [password]
            if case .error(let message) = try command(auth.map { Array($0.utf8) }) {
                throw RedisError(.configuration, "\(server) rejected AUTH: \(message)")
            }
        }
        if configuration.database != 0 {
            if case .error(let message) = try command([Array("SELECT".utf8), Array("\(configuration.database)".utf8)]) {
                throw RedisError(.configuration, "\(server) rejected SELECT \(configuration.database): \(message)")
            }
        }
    }

    deinit {
        close()
    }

    /// Frees the context (closing its socket); safe to call twice.
    func close() {
        if let context {
            redisFree(context)
            self.context = nil
        }
    }

    /// The socket, for `shutdown(2)` from another thread; -1 once closed.
    var fileDescriptor: Int32 { context?.pointee.fd ?? -1 }

    /// Whether an idle connection was closed by the server (or has unexpected data):
    /// checked before reuse, so a connection that died while idle is replaced before any
    /// command is sent on it, not after.
    var isStale: Bool {
        guard let context, !isBroken else { return true }
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) != 0
    }

    /// Sets the send/receive timeout; `nil` blocks forever.
    func setTimeout(_ timeout: Duration?) throws(RedisError) {
        guard let context else { throw closedError }
        guard redisSetTimeout(context, timeval(timeout ?? .zero)) == REDIS_OK else { throw failure() }
    }

    /// Sends one command and waits for its reply; error replies come back as `.error`.
    func command(_ arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        try append(arguments)
        return try readReply()
    }

    /// Queues one command in the output buffer; the next ``readReply()`` flushes it.
    func append(_ arguments: [[UInt8]]) throws(RedisError) {
        guard let context else { throw closedError }
        let status = Self.withArgv(arguments) { redisAppendCommandArgv(context, $0, $1, $2) }
        guard status == REDIS_OK else { throw failure() }
    }

    /// Flushes pending commands if needed and reads the next reply.
    func readReply() throws(RedisError) -> RedisReply {
        guard let context else { throw closedError }
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw failure() }
        return try take(raw)
    }

    /// Copies a reply hiredis handed over and frees it; a reply that cannot be copied leaves
    /// the connection broken (the stream is no longer in step).
    private func take(_ raw: UnsafeMutableRawPointer) throws(RedisError) -> RedisReply {
        defer { freeReplyObject(raw) }
        do {
            return try RedisReply(copying: raw.assumingMemoryBound(to: redisReply.self))
        } catch {
            isBroken = true
            throw error
        }
    }

    /// Reads the next reply, waiting at most `timeout` for it; nil when none came in time.
    ///
    /// Unlike a socket timeout (after which hiredis leaves the context dead), running out of
    /// time here leaves the connection usable: the subscriber uses it to notice silence and
    /// send `PING` on the same connection. Replies already buffered come back without I/O.
    func readReply(within timeout: Duration) throws(RedisError) -> RedisReply? {
        guard let context else { throw closedError }
        let deadline = ContinuousClock.now + timeout
        while true {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReplyFromReader(context, &raw) == REDIS_OK else { throw failure() }
            if let raw { return try take(raw) }
            let remaining = deadline - .now
            guard remaining > .zero else { return nil }
            var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(min(max((remaining / .milliseconds(1)).rounded(.up), 1), 60_000))
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0, errno != EINTR {
                isBroken = true
                throw RedisError(.connection, "\(server): poll failed (errno \(errno))")
            }
            // Readable (or closed: the read then reports EOF); one read(2) feeds the reader.
            if ready > 0, redisBufferRead(context) != REDIS_OK { throw failure() }
        }
    }

    /// Sends one command without waiting for its reply (within the send timeout), e.g. a
    /// `PING` on a subscribed connection, whose answer arrives among the messages.
    func send(_ arguments: [[UInt8]]) throws(RedisError) {
        try append(arguments)
        guard let context else { throw closedError }
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else { throw failure() }
        }
    }

    /// Marks the connection broken and describes the context's error.
    private func failure() -> RedisError {
        let savedErrno = errno  // first: anything else may overwrite it
        isBroken = true
        guard let context else { return closedError }
        switch context.pointee.err {
        case REDIS_ERR_IO where savedErrno == EAGAIN || savedErrno == EWOULDBLOCK:
            return RedisError(.timeout, "\(server) did not answer within \(commandTimeout)")
        case REDIS_ERR_EOF:
            return RedisError(.connection, "\(server) closed the connection")
        case REDIS_ERR_PROTOCOL:
            return RedisError(.protocolViolation, "\(server): \(errorText(context))")
        default:
            return RedisError(.connection, "\(server): \(errorText(context))")
        }
    }

    private var closedError: RedisError {
        RedisError(.connection, "the connection to \(server) is closed")
    }

    /// `errstr` is a fixed C array (a tuple in Swift); read it up to its NUL.
    private func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// Lays the arguments out in one buffer and passes hiredis pointers plus explicit
    /// lengths, so values may contain NUL bytes.
    private static func withArgv<T>(
        _ arguments: [[UInt8]],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> T
    ) -> T {
        var storage: [UInt8] = []
        storage.reserveCapacity(arguments.reduce(1) { $0 + $1.count })
        var offsets: [Int] = []
        for argument in arguments {
            offsets.append(storage.count)
            storage += argument
        }
        storage.append(0)  // never empty, so the base address exists
        let lengths = arguments.map(\.count)
        return storage.withUnsafeBytes { buffer in
            let base = buffer.baseAddress!.assumingMemoryBound(to: CChar.self)
            var argv: [UnsafePointer<CChar>?] = offsets.map { UnsafePointer(base + $0) }
            return argv.withUnsafeMutableBufferPointer { argvBuffer in
                lengths.withUnsafeBufferPointer { lengthBuffer in
                    body(Int32(arguments.count), argvBuffer.baseAddress!, lengthBuffer.baseAddress!)
                }
            }
        }
    }
}

extension timeval {
    /// A `Duration` as seconds plus microseconds (sub-microsecond parts are dropped).
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(
            tv_sec: .init(truncatingIfNeeded: seconds),
            tv_usec: .init(truncatingIfNeeded: attoseconds / 1_000_000_000_000))
    }
}
