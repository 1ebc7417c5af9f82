import Redis
import Testing
import TestSupport

/// Reconnecting after the server went away, against a private redis-server.
@Suite("RedisClient and blocking connection across a Redis restart", .serialized)
struct RedisRestartTests {
    @Test("after a Redis restart the client reconnects by itself, and scripts are loaded again",
          .timeLimit(.minutes(1)))
    func reconnectsAfterRestart() async throws {
        try await PrivateRedisServer.with { server in
            let client = RedisClient(configuration: server.configuration, poolSize: 2, logger: TestRedis.logger)
            let script = RedisScript("return redis.call('INCR', KEYS[1])")
            #expect(try await client.evalScript(script, keys: ["restart:n"], arguments: []) == .integer(1))
            try await server.restart()
            let restarted = ContinuousClock.now
            // The idle connections were closed by the restart; the next command opens new ones.
            var failures: [String] = []
            var answered = false
            while !answered, ContinuousClock.now - restarted < .seconds(10) {
                do {
                    // A fresh server: NOSCRIPT, reloaded, and the counter starts again.
                    #expect(try await client.evalScript(script, keys: ["restart:n"], arguments: []) == .integer(1))
                    answered = true
                } catch {
                    failures.append("\(error)")
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            print("after the restart: answered after \(ContinuousClock.now - restarted), failures before: \(failures)")
            #expect(answered)
            #expect(failures.count <= 1, "a connection closed while idle must be replaced before it is used")
            await client.close()
        }
    }

    @Test("a blocking read ends at once when its task is cancelled; the next command reconnects",
          .timeLimit(.minutes(1)))
    func blockingReadCancelled() async throws {
        let prefix = TestRedis.uniquePrefix("blocking")
        try await RedisBlockingConnection.withConnection(configuration: try TestRedis.configuration()) { connection in
            let reading = Task { try await connection.send(["BLPOP", "\(prefix):empty", "10"], blocking: .seconds(10)) }
            #expect(await Poll.eventually { connection.clientID != nil })
            let firstID = connection.clientID
            try await Task.sleep(for: .milliseconds(100))
            let cancelledAt = ContinuousClock.now
            reading.cancel()
            let result = await reading.result
            let waited = ContinuousClock.now - cancelledAt
            print("blocked BLPOP cancelled: answered after \(waited): \(result)")
            // Generous for a shared machine, and far below the BLPOP's 10 s.
            #expect(waited < .seconds(3))
            #expect { try result.get() } throws: { ($0 as? RedisError)?.code == .cancelled }
            #expect(try await connection.send(["PING"]) == .status("PONG"))
            #expect(connection.clientID != nil && connection.clientID != firstID)
        }
    }

    @Test("CLIENT UNBLOCK from another connection cuts a blocking read short", .timeLimit(.minutes(1)))
    func unblockedFromElsewhere() async throws {
        let prefix = TestRedis.uniquePrefix("unblock")
        let configuration = try TestRedis.configuration()
        let client = RedisClient(configuration: configuration, poolSize: 1, logger: TestRedis.logger)
        try await RedisBlockingConnection.withConnection(configuration: configuration) { connection in
            #expect(try await connection.send(["PING"]) == .status("PONG"))
            let id = try #require(connection.clientID)
            let start = ContinuousClock.now
            async let read = connection.send(["BLPOP", "\(prefix):empty", "10"], blocking: .seconds(10))
            var unblocked = false
            while !unblocked, ContinuousClock.now - start < .seconds(5) {
                unblocked = try await client.send("CLIENT", "UNBLOCK", String(id)).int == 1
                if !unblocked { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(unblocked)
            #expect(try await read.isNull)
            print("BLPOP 10 s cut short by CLIENT UNBLOCK after \(ContinuousClock.now - start)")
            #expect(ContinuousClock.now - start < .seconds(5))
        }
        await client.close()
    }
}
