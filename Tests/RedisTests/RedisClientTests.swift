import Redis
import Testing

@Suite("RedisClient against a real Redis (REDIS_URL)")
struct RedisClientTests {
    @Test func binarySafeValuesRoundTrip() async throws {
        let prefix = TestRedis.uniquePrefix("binary")
        try await TestRedis.withClient(prefix: prefix) { client in
            let value: [UInt8] = [0x61, 0x00, 0x62, 0xFF, 0x00] + Array("ünïcødé 🚀".utf8)
            let key = Array("\(prefix):k\u{0}ey".utf8)
            #expect(try await client.send(bytes: [Array("SET".utf8), key, value]) == .status("OK"))
            #expect(try await client.send(bytes: [Array("GET".utf8), key]) == .bulk(value))
            #expect(try await client.send(bytes: [Array("STRLEN".utf8), key]) == .integer(value.count))

            _ = try await client.send("SET", "\(prefix):text", "grüße 🚀\u{0}end")
            #expect(try await client.send("GET", "\(prefix):text").string == "grüße 🚀\u{0}end")
            _ = try await client.send("SET", "\(prefix):empty", "")
            #expect(try await client.send("GET", "\(prefix):empty") == .bulk([]))
        }
    }

    @Test func replyShapes() async throws {
        let prefix = TestRedis.uniquePrefix("shapes")
        try await TestRedis.withClient(prefix: prefix) { client in
            #expect(try await client.send("SET", "\(prefix):n", "41") == .status("OK"))
            #expect(try await client.send("GET", "\(prefix):n").int == 41)
            #expect(try await client.send("INCR", "\(prefix):n") == .integer(42))
            #expect(try await client.send("RPUSH", "\(prefix):list", "a", "b", "c") == .integer(3))
            #expect(
                try await client.send("LRANGE", "\(prefix):list", "0", "-1")
                    == .array([.bulk([0x61]), .bulk([0x62]), .bulk([0x63])]))
            #expect(try await client.send("GET", "\(prefix):missing").isNull)
            #expect(
                try await client.send(["MGET", "\(prefix):n", "\(prefix):missing"])
                    == .array([.bulk(Array("42".utf8)), .null]))
            #expect(try await client.send("LRANGE", "\(prefix):missing", "0", "-1") == .array([]))
            try await client.ping()
        }
    }

    @Test func errorReplyThrowsServer() async throws {
        let prefix = TestRedis.uniquePrefix("errors")
        try await TestRedis.withClient(prefix: prefix) { client in
            _ = try await client.send("SET", "\(prefix):s", "abc")
            let error = await #expect(throws: RedisError.self) { try await client.send("INCR", "\(prefix):s") }
            #expect(error?.code == .server)
            #expect(error?.message.contains("not an integer") == true)
            let unknown = await #expect(throws: RedisError.self) { try await client.send("NOSUCHCOMMAND") }
            #expect(unknown?.code == .server)
            try await client.ping()  // an error reply leaves the connection usable
        }
    }

    @Test func pipelineOf100WithAnErrorInTheMiddle() async throws {
        let prefix = TestRedis.uniquePrefix("pipeline")
        try await TestRedis.withClient(prefix: prefix) { client in
            _ = try await client.send("SET", "\(prefix):s", "abc")
            let commands = (0..<100).map { $0 == 50 ? ["INCR", "\(prefix):s"] : ["INCR", "\(prefix):n"] }
            let replies = try await client.pipeline(commands)
            #expect(replies.count == 100)
            #expect(replies[0] == .integer(1))
            #expect(replies[49] == .integer(50))
            guard case .error(let message) = replies[50] else {
                Issue.record("expected an error reply in place, got \(replies[50])")
                return
            }
            #expect(message.contains("not an integer"))
            #expect(replies[51] == .integer(51))
            #expect(replies[99] == .integer(99))
            #expect(try await client.send("GET", "\(prefix):n").int == 99)
            #expect(try await client.pipeline([]) == [])
        }
    }

    @Test func evalScriptLoadsAndReloadsAfterFlush() async throws {
        let prefix = TestRedis.uniquePrefix("script")
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1]) -- \(prefix)")
        try await TestRedis.withClient(prefix: prefix) { client in
            #expect(try await client.evalScript(script, keys: ["\(prefix):n"], arguments: ["5"]) == .integer(5))
            #expect(try await client.evalScript(script, keys: ["\(prefix):n"], arguments: ["5"]) == .integer(10))
            _ = try await client.send("SCRIPT", "FLUSH")  // as after a Redis restart
            #expect(try await client.evalScript(script, keys: ["\(prefix):n"], arguments: ["1"]) == .integer(11))

            let failing = RedisScript("return redis.call('INCR', KEYS[1])")
            _ = try await client.send("SET", "\(prefix):s", "abc")
            let runtime = await #expect(throws: RedisError.self) {
                try await client.evalScript(failing, keys: ["\(prefix):s"], arguments: [])
            }
            #expect(runtime?.code == .server)
            let syntax = await #expect(throws: RedisError.self) {
                try await client.evalScript(RedisScript("return +"), keys: [], arguments: [])
            }
            #expect(syntax?.code == .server)
        }
    }

    @Test func authenticatesAsACLUserWithSpecialPassword() async throws {
        let prefix = TestRedis.uniquePrefix("acl")
        let password = "p@ss:w/rd %ü#?"
        try await TestRedis.withClient(prefix: prefix) { admin in
            try await TestRedis.withUser(admin, password: password) { user in
                let base = try TestRedis.configuration()
                let url = "redis://\(user):\(TestRedis.percentEncoded(password))@\(base.host):\(base.port)/\(base.database)"
                let configuration = try RedisConfiguration(url: url)
                #expect(configuration.password == password)
                #expect(configuration.redactedDescription.hasPrefix("redis://\(user):***@"))
                let client = RedisClient(configuration: configuration, logger: TestRedis.logger)
                #expect(try await client.send("ACL", "WHOAMI").string == user)
                await client.close()
            }
        }
    }

    @Test func wrongPasswordIsAClearError() async throws {
        let prefix = TestRedis.uniquePrefix("wrongpass")
        try await TestRedis.withClient(prefix: prefix) { admin in
            try await TestRedis.withUser(admin, password: "right-password") { user in
                var configuration = try TestRedis.configuration()
                configuration.username = user
                configuration.password = "wrong-password"
                let client = RedisClient(configuration: configuration, logger: TestRedis.logger)
                let error = await #expect(throws: RedisError.self) { try await client.ping() }
                #expect(error?.code == .configuration)
                #expect(error?.message.contains("WRONGPASS") == true)
                #expect(error?.description.contains("wrong-password") == false)
                await client.close()
            }
        }
    }

    @Test func selectsTheConfiguredDatabase() async throws {
        let prefix = TestRedis.uniquePrefix("select")
        var other = try TestRedis.configuration()
        other.database = (other.database + 1) % 16
        try await TestRedis.withClient(prefix: prefix) { client in
            let otherClient = RedisClient(configuration: other, logger: TestRedis.logger)
            _ = try await otherClient.send("SET", "\(prefix):k", "v")
            #expect(try await client.send("GET", "\(prefix):k").isNull)
            #expect(try await otherClient.send("GET", "\(prefix):k").string == "v")
            _ = try await otherClient.send("DEL", "\(prefix):k")
            await otherClient.close()
        }
    }

    @Test func twoHundredConcurrentIncrementsThroughAPoolOfFour() async throws {
        let prefix = TestRedis.uniquePrefix("concurrency")
        try await TestRedis.withClient(prefix: prefix) { admin in
            try await TestRedis.withUser(admin, password: "pool-test") { user in
                var configuration = try TestRedis.configuration()
                configuration.username = user
                configuration.password = "pool-test"
                let client = RedisClient(configuration: configuration, poolSize: 4, logger: TestRedis.logger)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<200 {
                        group.addTask { _ = try await client.send("INCR", "\(prefix):n") }
                    }
                    try await group.waitForAll()
                }
                #expect(try await client.send("GET", "\(prefix):n").int == 200)
                let clients = try await admin.send("CLIENT", "LIST").string ?? ""
                let connections = clients.split(separator: "\n").filter { $0.contains(" user=\(user) ") }.count
                #expect((1...4).contains(connections), "pool of 4 opened \(connections) connections")
                await client.close()
            }
        }
    }
}
