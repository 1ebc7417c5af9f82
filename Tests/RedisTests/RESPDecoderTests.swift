import NIOCore
import Testing

@testable import Redis

/// hiredis's reader behind ``RESPDecoder``, fed bytes by hand: no socket.
@Suite("RESP decoder (hiredis reader, no socket)")
struct RESPDecoderTests {
    /// One of every reply kind, nested arrays, nil bulk and nil array, in one stream.
    static let stream: [UInt8] = Array(
        ("+OK\r\n" + "-ERR wrong\r\n" + ":-42\r\n" + "$5\r\nhe\0lo\r\n" + "$0\r\n\r\n" + "$-1\r\n" + "*-1\r\n"
            + "*0\r\n" + "*3\r\n:1\r\n*2\r\n+a\r\n$1\r\nb\r\n$-1\r\n").utf8)
    static let replies: [RedisReply] = [
        .status("OK"), .error("ERR wrong"), .integer(-42), .bulk(Array("he\0lo".utf8)), .bulk([]), .null, .null,
        .array([]), .array([.integer(1), .array([.status("a"), .bulk(Array("b".utf8))]), .null]),
    ]

    @Test func everyReplyKindInOneFeed() throws {
        let decoder = RESPDecoder()
        try decoder.feed(Self.stream)
        var decoded: [RedisReply] = []
        while let reply = try decoder.next() { decoded.append(reply) }
        #expect(decoded == Self.replies)
    }

    @Test func theSameBytesSplitAtEveryOffset() throws {
        for offset in 0...Self.stream.count {
            let decoder = RESPDecoder()
            var decoded: [RedisReply] = []
            try decoder.feed(Array(Self.stream[..<offset]))
            while let reply = try decoder.next() { decoded.append(reply) }
            try decoder.feed(Array(Self.stream[offset...]))
            while let reply = try decoder.next() { decoded.append(reply) }
            #expect(decoded == Self.replies, "split at \(offset)")
        }
    }

    @Test func oneByteAtATime() throws {
        let decoder = RESPDecoder()
        var decoded: [RedisReply] = []
        for byte in Self.stream {
            try decoder.feed([byte])
            while let reply = try decoder.next() { decoded.append(reply) }
        }
        #expect(decoded == Self.replies)
    }

    @Test func aLargeBulkInPieces() throws {
        let payload = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let bytes = Array("$\(payload.count)\r\n".utf8) + payload + Array("\r\n".utf8)
        let decoder = RESPDecoder()
        var reply: RedisReply?
        var pieces = 0
        var start = 0
        while start < bytes.count {
            let end = min(start + 65_536, bytes.count)
            try decoder.feed(Array(bytes[start..<end]))
            pieces += 1
            if let next = try decoder.next() { reply = next }
            #expect(reply == nil || end == bytes.count, "complete before the last piece")
            start = end
        }
        print("a \(payload.count)-byte bulk fed in \(pieces) pieces")
        #expect(reply == .bulk(payload))
    }

    @Test func invalidBytesAreAProtocolViolation() throws {
        let decoder = RESPDecoder()
        try decoder.feed(Array("+OK\r\n!what\r\n".utf8))
        #expect(try decoder.next() == .status("OK"))
        let error = #expect(throws: RedisError.self) { try decoder.next() }
        print("hiredis on a bad type byte: \(error.map(String.init(describing:)) ?? "nothing")")
        #expect(error?.code == .protocolViolation)
    }

    @Test func encoderWritesWhatTheDecoderReads() throws {
        // The formatter's output is a RESP array of bulk strings, readable by the reader.
        let buffer = RESPEncoder.encode([Array("SET".utf8), Array("k\0ey".utf8), []])
        #expect(String(buffer: buffer) == "*3\r\n$3\r\nSET\r\n$4\r\nk\0ey\r\n$0\r\n\r\n")
        let decoder = RESPDecoder()
        try decoder.feed(buffer)
        #expect(try decoder.next() == .array([.bulk(Array("SET".utf8)), .bulk(Array("k\0ey".utf8)), .bulk([])]))
    }
}
