import Redis
import Testing
import TestSupport

@Suite("RedisClient failure handling against a real Redis (REDIS_URL)")
struct RedisClientFailureTests {
    @Test func closedPortFailsFastThenBacksOff() async throws {
        var configuration = try TestRedis.configuration()
        configuration.port = 1  // nothing listens there on loopback
        let client = RedisClient(configuration: configuration, logger: TestRedis.logger)
        let clock = ContinuousClock()

        // The first attempts really connect and are refused; once the backoff window is
        // longer than the gap between calls, calls fail without touching the network.
        let start = clock.now
        var messages: [String] = []
        while messages.count < 50, !(messages.last?.contains("unavailable") ?? false) {
            let error = await #expect(throws: RedisError.self) { try await client.ping() }
            #expect(error?.code == .connection)
            messages.append(error?.message ?? "")
        }
        let elapsed = clock.now - start
        #expect(messages.first?.contains("Connection refused") == true)
        #expect(messages.last?.contains("unavailable") == true, "never failed fast: \(messages)")
        // Far below what 50 connects with their timeouts would take; generous for a loaded machine.
        #expect(elapsed < .seconds(5), "\(messages.count) calls took \(elapsed)")

        // The window never exceeds 2 s; after it, the client tries the server again by itself.
        try await Task.sleep(for: .milliseconds(2100))
        let retried = await #expect(throws: RedisError.self) { try await client.ping() }
        #expect(retried?.code == .connection)
        #expect(retried?.message.contains("Connection refused") == true)
        await client.close()
    }

    @Test func replacesConnectionsTheServerClosed() async throws {
        let prefix = TestRedis.uniquePrefix("killed")
        try await TestRedis.withClient(prefix: prefix) { admin in
            try await TestRedis.withUser(admin, password: "kill-test") { user in
                var configuration = try TestRedis.configuration()
                configuration.username = user
                configuration.password = "kill-test"
                let client = RedisClient(configuration: configuration, poolSize: 2, logger: TestRedis.logger)
                async let first: Void = client.ping()
                async let second: Void = client.ping()
                _ = try await (first, second)
                let killed = try await admin.send("CLIENT", "KILL", "USER", user)
                #expect((killed.int ?? 0) >= 1)
                try await Task.sleep(for: .milliseconds(50))
                // Idle connections that died are replaced before anything is sent on them.
                for _ in 0..<4 { try await client.ping() }
                await client.close()
            }
        }
    }

    @Test func commandTimeoutDropsTheConnectionAndRecovers() async throws {
        let prefix = TestRedis.uniquePrefix("timeout")
        var configuration = try TestRedis.configuration()
        configuration.commandTimeout = .milliseconds(300)
        let client = RedisClient(configuration: configuration, poolSize: 1, logger: TestRedis.logger)
        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: RedisError.self) {
            try await client.send("BLPOP", "\(prefix):empty", "3")
        }
        #expect(error?.code == .timeout)
        #expect(clock.now - start < .seconds(2))
        try await client.ping()
        await client.close()
    }

    @Test func cancelledWaiterGivesUpPromptly() async throws {
        let prefix = TestRedis.uniquePrefix("waiter")
        try await TestRedis.withClient(prefix: prefix) { admin in
            let client = RedisClient(configuration: try TestRedis.configuration(), poolSize: 1, logger: TestRedis.logger)
            async let blocker = client.send("BLPOP", "\(prefix):empty", "4")
            // Wait until the only connection is busy in BLPOP.
            #expect(await Poll.eventually { (try? await admin.send("CLIENT", "LIST").string)?.contains("cmd=blpop") == true })
            let waiter = Task { try await client.ping() }
            try await Task.sleep(for: .milliseconds(50))
            let clock = ContinuousClock()
            let start = clock.now
            waiter.cancel()
            let result = await waiter.result
            // Generous for a shared machine (the clients stage runs its suites in parallel), and
            // far below the BLPOP's remaining 3.9 s that an uncancelled PING would wait.
            #expect(clock.now - start < .seconds(2))
            #expect { try result.get() } throws: { ($0 as? RedisError)?.code == .cancelled }
            #expect(try await blocker.isNull)  // BLPOP timed out server-side
            await client.close()
        }
    }

    @Test func closedClientThrowsShutdown() async throws {
        let client = RedisClient(configuration: try TestRedis.configuration(), logger: TestRedis.logger)
        try await client.ping()
        await client.close()
        await client.close()  // idempotent
        let error = await #expect(throws: RedisError.self) { try await client.ping() }
        #expect(error?.code == .shutdown)
    }
}
