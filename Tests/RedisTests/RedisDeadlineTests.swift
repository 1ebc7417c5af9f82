import Redis
import Synchronization
import Testing
import TestSupport

/// Every Redis call answers within its deadline, also when the server hangs.
@Suite("Redis deadlines", .serialized)
struct RedisDeadlineTests {
    @Test("commands against a frozen server all fail within their deadlines, then work after SIGCONT",
          .timeLimit(.minutes(1)))
    func frozenServer() async throws {
        try await PrivateRedisServer.with { server in
            var configuration = server.configuration
            configuration.commandTimeout = .seconds(1)
            let client = RedisClient(configuration: configuration, poolSize: 1, logger: TestRedis.logger)
            try await client.ping()

            server.freeze()
            let outcomes = try await Self.callers(8, bound: .seconds(20)) { _ in try await client.ping() }
            server.thaw()
            for (index, outcome) in outcomes.enumerated() { print("frozen Redis, caller \(index): \(outcome)") }
            // At most: a reconnect and one command (callers never wait for a connection).
            let bound = configuration.connectTimeout + configuration.commandTimeout + .seconds(2)
            for outcome in outcomes {
                #expect(outcome.answered)
                #expect(outcome.elapsed < bound, "\(outcome)")
                #expect(outcome.code == .timeout, "\(outcome)")
            }
            #expect(outcomes.contains { $0.code == .timeout })

            let thawed = ContinuousClock.now
            #expect(await Poll.eventually(within: .seconds(10)) { (try? await client.ping()) != nil })
            print("after SIGCONT Redis answered again after \(ContinuousClock.now - thawed)")
            await client.close()
        }
    }

    @Test("a blocking command holds up only the commands pipelined behind it on its own connection",
          .timeLimit(.minutes(1)))
    func blockingCommandOnASharedConnection() async throws {
        // Callers no longer wait for a free connection (no `.poolTimeout`): they share
        // pipelined connections, so a BLPOP on the only connection delays the PING written
        // after it until it returns, and a second connection lets the PING go around it.
        let prefix = TestRedis.uniquePrefix("poolwait")
        let configuration = try TestRedis.configuration()
        for poolSize in [1, 2] {
            let client = RedisClient(configuration: configuration, poolSize: poolSize, logger: TestRedis.logger)
            try await client.ping()
            async let holder = client.send("BLPOP", "\(prefix):empty", "4")
            try await Task.sleep(for: .milliseconds(200))
            let outcome = try await Self.callers(1, bound: .seconds(15)) { _ in try await client.ping() }[0]
            print("PING behind a 4 s BLPOP, pool of \(poolSize): \(outcome)")
            #expect(outcome.answered && outcome.code == nil, "\(outcome)")
            if poolSize == 1 {
                #expect(outcome.elapsed > .seconds(3), "answered before the BLPOP ahead of it returned")
            } else {
                // Generous for a shared machine, and far below the BLPOP's remaining 3.8 s.
                #expect(outcome.elapsed < .seconds(2), "waited for the other connection's BLPOP")
            }
            #expect(try await holder.isNull)
            await client.close()
        }
    }

    @Test("a subscriber whose server froze past its read timeout subscribes again after SIGCONT",
          .timeLimit(.minutes(1)))
    func subscriberOfFrozenServer() async throws {
        try await PrivateRedisServer.with { server in
            var configuration = server.configuration
            configuration.commandTimeout = .seconds(1)
            configuration.subscriberPingInterval = .milliseconds(300)
            configuration.subscriberReadTimeout = .seconds(1)
            let subscriber = RedisSubscriber(configuration: configuration, channels: ["deadline:c"], logger: TestRedis.logger)
            let log = EventLog.consuming(subscriber)
            let running = Task { await subscriber.run() }
            defer { running.cancel() }
            #expect(await Poll.eventually { await log.subscribedCount == 1 })

            server.freeze()
            let frozen = ContinuousClock.now
            try await Task.sleep(for: .milliseconds(2500))
            server.thaw()
            let thawed = ContinuousClock.now
            let resubscribed = await Poll.eventually(within: .seconds(15)) { await log.subscribedCount >= 2 }
            let waited = ContinuousClock.now - thawed
            print("frozen 2.5 s: \(resubscribed ? "subscribed again" : "still not subscribed again") \(waited) after SIGCONT (\(ContinuousClock.now - frozen) after the freeze)")
            #expect(resubscribed, "no new .subscribed after the server thawed")

            let client = RedisClient(configuration: configuration, poolSize: 1, logger: TestRedis.logger)
            _ = try await client.send("PUBLISH", "deadline:c", "after the freeze")
            let expected = RedisSubscriberEvent.message(channel: "deadline:c", payload: Array("after the freeze".utf8))
            #expect(await Poll.eventually { await log.events.last == expected })
            await client.close()
        }
    }

    @Test("a quiet subscription on a live server is kept alive by PING, not dropped", .timeLimit(.minutes(1)))
    func quietSubscriptionStays() async throws {
        let prefix = TestRedis.uniquePrefix("quiet")
        var configuration = try TestRedis.configuration()
        configuration.subscriberPingInterval = .milliseconds(200)
        configuration.subscriberReadTimeout = .milliseconds(800)
        let subscriber = RedisSubscriber(configuration: configuration, channels: ["\(prefix):c"], logger: TestRedis.logger)
        let log = EventLog.consuming(subscriber)
        let running = Task { await subscriber.run() }
        defer { running.cancel() }
        #expect(await Poll.eventually { await log.subscribedCount == 1 })
        try await Task.sleep(for: .milliseconds(2500))  // three read timeouts without a message
        #expect(await log.subscribedCount == 1)
        #expect(await log.events == [.subscribed], "the pongs must not surface as events")
    }

    /// Runs `count` concurrent callers and reports how each ended and after how long; those
    /// without an answer after `bound` are reported as unanswered (and left running), so that
    /// a hang fails the test instead of stalling it.
    static func callers(
        _ count: Int, bound: Duration, _ call: @escaping @Sendable (Int) async throws -> some Sendable
    ) async throws -> [RedisCallOutcome] {
        let start = ContinuousClock.now
        let table = RedisOutcomeTable(count)
        for index in 0..<count {
            Task {
                var outcome = RedisCallOutcome(answered: true, elapsed: .zero)
                do {
                    _ = try await call(index)
                } catch let error as RedisError {
                    (outcome.code, outcome.message) = (error.code, error.message)
                } catch {
                    outcome.message = "\(error)"
                }
                outcome.elapsed = ContinuousClock.now - start
                table.record(outcome, at: index)
            }
        }
        while table.pending, ContinuousClock.now - start < bound {
            try await Task.sleep(for: .milliseconds(20))
        }
        return table.all.map { $0 ?? RedisCallOutcome(answered: false, elapsed: bound) }
    }
}

/// How one call ended: succeeded (no code), failed (its code), or never answered.
struct RedisCallOutcome: Sendable, CustomStringConvertible {
    var answered: Bool
    var elapsed: Duration
    var code: RedisError.Code?
    var message: String?

    var description: String {
        guard answered else { return "no answer after \(elapsed)" }
        let result = code.map { "\($0) error (\(message ?? ""))" } ?? "success"
        return "\(result) after \(elapsed)"
    }
}

/// The outcomes of concurrent callers, filled in as they finish.
private final class RedisOutcomeTable: Sendable {
    private let outcomes: Mutex<[RedisCallOutcome?]>

    init(_ count: Int) { outcomes = Mutex([RedisCallOutcome?](repeating: nil, count: count)) }

    func record(_ outcome: RedisCallOutcome, at index: Int) { outcomes.withLock { $0[index] = outcome } }
    var pending: Bool { outcomes.withLock { $0.contains { $0 == nil } } }
    var all: [RedisCallOutcome?] { outcomes.withLock { $0 } }
}
