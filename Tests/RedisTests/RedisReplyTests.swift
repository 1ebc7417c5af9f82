import Redis
import Testing

@Suite("RedisReply accessors")
struct RedisReplyTests {
    @Test func string() {
        #expect(RedisReply.status("OK").string == "OK")
        #expect(RedisReply.bulk(Array("héllo".utf8)).string == "héllo")
        #expect(RedisReply.bulk([0xFF, 0xFE]).string == nil)  // not UTF-8
        #expect(RedisReply.integer(1).string == nil)
        #expect(RedisReply.error("ERR x").string == nil)
        #expect(RedisReply.null.string == nil)
    }

    @Test func int() {
        #expect(RedisReply.integer(-42).int == -42)
        #expect(RedisReply.bulk(Array("17".utf8)).int == 17)
        #expect(RedisReply.status("5").int == 5)
        #expect(RedisReply.bulk(Array("1.5".utf8)).int == nil)
        #expect(RedisReply.null.int == nil)
        #expect(RedisReply.array([.integer(1)]).int == nil)
    }

    @Test func arrayAndNull() {
        let reply = RedisReply.array([.integer(1), .null, .bulk([0])])
        #expect(reply.array == [.integer(1), .null, .bulk([0])])
        #expect(RedisReply.bulk([]).array == nil)
        #expect(RedisReply.null.isNull)
        #expect(!RedisReply.bulk([]).isNull)
        #expect(!reply.isNull)
    }

    @Test func errorDescriptionNamesCode() {
        let error = RedisError(.timeout, "no answer")
        #expect(error.code == .timeout)
        #expect(error.description == "Redis timeout error: no answer")
        #expect(RedisError.Code.connection != .server)
    }
}
