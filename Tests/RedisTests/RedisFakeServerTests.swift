import Redis
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The client against a loopback server that misbehaves on purpose (``FakeRedisServer``).
@Suite("RedisClient against a misbehaving server", .serialized)
struct RedisFakeServerTests {
    static func client(_ server: FakeRedisServer, commandTimeout: Duration = .seconds(2)) -> RedisClient {
        var configuration = RedisConfiguration(host: "127.0.0.1", port: server.port)
        configuration.commandTimeout = commandTimeout
        return RedisClient(configuration: configuration, poolSize: 1, logger: TestRedis.logger)
    }

    @Test("a reply split across reads with pauses arrives whole", .timeLimit(.minutes(1)))
    func dribbledReply() async throws {
        let server = try FakeRedisServer { peer in
            peer.read()
            for byte in "$11\r\nhello world\r\n" {
                peer.write(String(byte))
                usleep(5_000)
            }
            peer.read()
            // Two replies in one write, for two commands.
            peer.write("+PONG\r\n:7\r\n")
            peer.read()
        }
        defer { server.stop() }
        let client = Self.client(server)
        let start = ContinuousClock.now
        let reply = try await client.send("GET", "k")
        print("dribbled 18 bytes, reply after \(ContinuousClock.now - start): \(reply)")
        #expect(reply == .bulk(Array("hello world".utf8)))
        let replies = try await client.pipeline([["PING"], ["INCR", "x"]])
        #expect(replies == [RedisReply.status("PONG"), .integer(7)])
        await client.close()
    }

    @Test("a connection closed in the middle of a reply fails the caller, and the next call reconnects",
          .timeLimit(.minutes(1)))
    func closedMidReply() async throws {
        let server = try FakeRedisServer { peer in
            peer.read()
            if peer.index == 0 {
                peer.write("$10\r\nhel")
                usleep(20_000)
                peer.close()
                return
            }
            peer.write("+PONG\r\n")
            peer.read()
            peer.close()
        }
        defer { server.stop() }
        let client = Self.client(server)
        let error = await #expect(throws: RedisError.self) { try await client.send("GET", "k") }
        print("closed mid-reply: \(error.map(String.init(describing:)) ?? "no error")")
        #expect(error?.code == .connection)
        #expect(error?.message.contains("may have run") == true)
        try await client.ping()
        #expect(server.connectionCount == 2)
        await client.close()
    }

    @Test("a server that accepts and never answers: every caller gets .timeout within the deadline",
          .timeLimit(.minutes(1)))
    func neverAnswers() async throws {
        let server = try FakeRedisServer { peer in
            while peer.read() != nil {}
        }
        defer { server.stop() }
        let client = Self.client(server, commandTimeout: .milliseconds(400))
        let outcomes = try await RedisDeadlineTests.callers(20, bound: .seconds(10)) { _ in try await client.ping() }
        for (index, outcome) in outcomes.enumerated() where index % 5 == 0 { print("silent server, caller \(index): \(outcome)") }
        for outcome in outcomes {
            #expect(outcome.answered)
            #expect(outcome.code == .timeout, "\(outcome)")
            #expect(outcome.elapsed < .seconds(3), "\(outcome)")
        }
        await client.close()
    }

    @Test("invalid RESP is a protocol violation and the connection is replaced", .timeLimit(.minutes(1)))
    func garbage() async throws {
        let server = try FakeRedisServer { peer in
            peer.read()
            peer.write(peer.index == 0 ? "!nonsense\r\n" : "+PONG\r\n")
            peer.read()
        }
        defer { server.stop() }
        let client = Self.client(server)
        let error = await #expect(throws: RedisError.self) { try await client.ping() }
        print("garbage reply: \(error.map(String.init(describing:)) ?? "no error")")
        #expect(error?.code == .protocolViolation)
        #expect(await Poll.eventually { (try? await client.ping()) != nil })
        await client.close()
    }

    @Test("a server that never answers AUTH: the call fails with .timeout and the connection is replaced",
          .timeLimit(.minutes(1)))
    func neverAnswersTheHandshake() async throws {
        let server = try FakeRedisServer { peer in
            while peer.read() != nil {}
        }
        defer { server.stop() }
        var configuration = RedisConfiguration(host: "127.0.0.1", port: server.port, password: "secret")
        configuration.commandTimeout = .milliseconds(300)
        let client = RedisClient(configuration: configuration, poolSize: 1, logger: TestRedis.logger)
        var errors: [String] = []
        for _ in 0..<2 {
            let start = ContinuousClock.now
            let error = await #expect(throws: RedisError.self) { try await client.ping() }
            errors.append("\(error.map(String.init(describing:)) ?? "no error") after \(ContinuousClock.now - start)")
            #expect(error?.code == .timeout || error?.code == .connection)
            #expect(ContinuousClock.now - start < .seconds(2))
            try await Task.sleep(for: .milliseconds(2100))  // past the longest backoff window
        }
        print("silent on AUTH: \(errors)")
        #expect(server.connectionCount == 2, "the stalled connection was reused instead of replaced")
        await client.close()
    }
}
