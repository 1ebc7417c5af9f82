import Redis
import Synchronization
import Testing
import TestSupport

/// Collects a subscriber's events from a background task, so tests can wait with deadlines.
actor EventLog {
    private(set) var events: [RedisSubscriberEvent] = []
    private(set) var finished = false

    func append(_ event: RedisSubscriberEvent) { events.append(event) }
    func finish() { finished = true }
    var subscribedCount: Int { events.filter { $0 == .subscribed }.count }

    static func consuming(_ subscriber: RedisSubscriber) -> EventLog {
        let log = EventLog()
        Task {
            for await event in subscriber.events { await log.append(event) }
            await log.finish()
        }
        return log
    }
}

@Suite("RedisSubscriber against a real Redis (REDIS_URL)")
struct RedisSubscriberTests {
    @Test func receivesMessagesOnChannelsAndPatterns() async throws {
        let prefix = TestRedis.uniquePrefix("pubsub")
        try await TestRedis.withClient(prefix: prefix) { client in
            let subscriber = RedisSubscriber(
                configuration: try TestRedis.configuration(), channels: ["\(prefix):a", "\(prefix):b"],
                patterns: ["\(prefix):p:*"], logger: TestRedis.logger)
            let log = EventLog.consuming(subscriber)
            let running = Task { await subscriber.run() }
            defer { running.cancel() }
            #expect(await Poll.eventually { await log.subscribedCount == 1 })

            let payload: [UInt8] = [0x00, 0xFF] + Array("héllo".utf8)
            #expect(try await client.send(bytes: [Array("PUBLISH".utf8), Array("\(prefix):a".utf8), payload]) == .integer(1))
            _ = try await client.send("PUBLISH", "\(prefix):p:x", "via pattern")
            _ = try await client.send("PUBLISH", "\(prefix):b", "second")
            _ = try await client.send("PUBLISH", "\(prefix):other", "not subscribed")

            let expected: [RedisSubscriberEvent] = [
                .subscribed,
                .message(channel: "\(prefix):a", payload: payload),
                .message(channel: "\(prefix):p:x", payload: Array("via pattern".utf8)),
                .message(channel: "\(prefix):b", payload: Array("second".utf8)),
            ]
            #expect(await Poll.eventually { await log.events.count >= expected.count })
            #expect(await log.events == expected)
        }
    }

    @Test func onEventGetsEveryEventOnTheSubscriberThreadAndTheStreamNone() async throws {
        let prefix = TestRedis.uniquePrefix("pubsub-handler")
        try await TestRedis.withClient(prefix: prefix) { client in
            let received = Mutex<[RedisSubscriberEvent]>([])
            let subscriber = RedisSubscriber(
                configuration: try TestRedis.configuration(), channels: ["\(prefix):a"], logger: TestRedis.logger,
                onEvent: { event in received.withLock { $0.append(event) } })
            let streamed = EventLog.consuming(subscriber)
            let running = Task { await subscriber.run() }
            defer { running.cancel() }
            #expect(await Poll.eventually { received.withLock { $0.count } == 1 })

            for index in 0..<3 { _ = try await client.send("PUBLISH", "\(prefix):a", "line \(index)") }
            let expected: [RedisSubscriberEvent] =
                [.subscribed] + (0..<3).map { .message(channel: "\(prefix):a", payload: Array("line \($0)".utf8)) }
            #expect(await Poll.eventually { received.withLock { $0.count } >= expected.count })
            #expect(received.withLock { $0 } == expected)
            #expect(await streamed.events.isEmpty)
        }
    }

    @Test func resubscribesAfterTheServerKillsTheConnection() async throws {
        let prefix = TestRedis.uniquePrefix("resubscribe")
        try await TestRedis.withClient(prefix: prefix) { client in
            // Its own ACL user lets the test kill this subscriber's connection and no other.
            try await TestRedis.withUser(client, password: "sub-test") { user in
                var configuration = try TestRedis.configuration()
                configuration.username = user
                configuration.password = "sub-test"
                let subscriber = RedisSubscriber(
                    configuration: configuration, channels: ["\(prefix):c"], logger: TestRedis.logger)
                let log = EventLog.consuming(subscriber)
                let running = Task { await subscriber.run() }
                defer { running.cancel() }
                #expect(await Poll.eventually { await log.subscribedCount == 1 })

                let killed = try await client.send("CLIENT", "KILL", "TYPE", "pubsub", "USER", user)
                #expect(killed == .integer(1))
                #expect(await Poll.eventually { await log.subscribedCount == 2 })

                _ = try await client.send("PUBLISH", "\(prefix):c", "after reconnect")
                #expect(
                    await Poll.eventually {
                        await log.events.last == .message(channel: "\(prefix):c", payload: Array("after reconnect".utf8))
                    })
            }
        }
    }

    @Test func runReturnsPromptlyOnCancellation() async throws {
        let prefix = TestRedis.uniquePrefix("cancel")
        let subscriber = RedisSubscriber(
            configuration: try TestRedis.configuration(), channels: ["\(prefix):c"], logger: TestRedis.logger)
        let log = EventLog.consuming(subscriber)
        let running = Task { await subscriber.run() }
        #expect(await Poll.eventually { await log.subscribedCount == 1 })
        try await Task.sleep(for: .milliseconds(100))  // let it block in read(2)

        let clock = ContinuousClock()
        let start = clock.now
        running.cancel()
        await running.value
        let elapsed = clock.now - start
        // Generous for a shared machine; a read that cancellation does not end never returns.
        #expect(elapsed < .seconds(2), "run() took \(elapsed) to return after cancellation")
        #expect(await Poll.eventually { await log.finished })
    }

    @Test func keepsRetryingWhileRedisIsUnreachable() async throws {
        var configuration = try TestRedis.configuration()
        configuration.port = 1
        let subscriber = RedisSubscriber(configuration: configuration, channels: ["x"], logger: TestRedis.logger)
        let running = Task { await subscriber.run() }
        try await Task.sleep(for: .milliseconds(300))
        let clock = ContinuousClock()
        let start = clock.now
        running.cancel()
        await running.value
        #expect(clock.now - start < .seconds(1))
    }
}
