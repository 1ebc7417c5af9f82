import CHiredis
import NIOCore

/// Turns the bytes a Redis connection receives into whole replies, with hiredis's own
/// RESP2 reader doing the parsing.
///
/// Bytes are fed as they arrive, in pieces of any size; ``next()`` hands out each reply once
/// it is complete, so a reply split across reads (or many replies in one read) needs no
/// care from the caller. Owns its `redisReader*` for its whole life (one owner per C handle);
/// not `Sendable`: it lives on one channel's event loop.
///
/// After a protocol error hiredis leaves the reader unusable, and so is the stream: the
/// owner must close the connection.
final class RESPDecoder {
    private let reader: UnsafeMutablePointer<redisReader>

    /// Creates a reader with hiredis's default reply objects.
    init() {
        guard let reader = redisReaderCreate() else {
            fatalError("hiredis could not allocate a reply reader (out of memory)")
        }
        self.reader = reader
    }

    deinit {
        redisReaderFree(reader)
    }

    /// Appends received bytes; hiredis copies them into its own buffer.
    func feed(_ buffer: ByteBuffer) throws(RedisError) {
        let status = buffer.withUnsafeReadableBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return REDIS_OK }
            return redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        guard status == REDIS_OK else { throw violation() }
    }

    /// Appends received bytes given as an array (for tests and callers without a buffer).
    func feed(_ bytes: [UInt8]) throws(RedisError) {
        try feed(ByteBuffer(bytes: bytes))
    }

    /// The next complete reply, or `nil` when the bytes so far end inside one.
    func next() throws(RedisError) -> RedisReply? {
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else { throw violation() }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return try RedisReply(copying: raw.assumingMemoryBound(to: redisReply.self))
    }

    /// hiredis's description of what was wrong with the stream.
    private func violation() -> RedisError {
        let text = withUnsafeBytes(of: reader.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return RedisError(.protocolViolation, "the server sent invalid RESP: \(text.isEmpty ? "unknown error" : text)")
    }
}
