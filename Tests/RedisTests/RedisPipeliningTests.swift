import Redis
import Synchronization
import Testing

/// Many callers on few connections against the real Redis (REDIS_URL).
@Suite("RedisClient pipelining against a real Redis (REDIS_URL)")
struct RedisPipeliningTests {
    @Test("2,000 concurrent callers on one connection each get their own reply", .timeLimit(.minutes(1)))
    func manyCallersOneConnection() async throws {
        let prefix = TestRedis.uniquePrefix("pipelined")
        try await TestRedis.withClient(prefix: prefix, poolSize: 1) { client in
            let start = ContinuousClock.now
            let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<2_000 {
                    group.addTask {
                        let key = "\(prefix):\(index)"
                        _ = try await client.send("SET", key, "value-\(index)")
                        let reply = try await client.send("GET", key)
                        return reply.string == "value-\(index)" ? 0 : 1
                    }
                }
                return try await group.reduce(0, +)
            }
            print("2,000 callers × (SET + GET) on one connection: \(ContinuousClock.now - start)")
            #expect(mismatches == 0)
        }
    }

    @Test("a caller cancelled while its reply is outstanding gets .cancelled at once; the connection stays usable",
          .timeLimit(.minutes(1)))
    func cancelledCallerLeavesTheConnectionInStep() async throws {
        let prefix = TestRedis.uniquePrefix("cancel")
        try await TestRedis.withClient(prefix: prefix, poolSize: 1) { client in
            // The BLPOP holds the reply stream for 4 s (under the 5 s command timeout); the GET written behind it waits its turn.
            async let blocker = client.send("BLPOP", "\(prefix):empty", "4")
            try await Task.sleep(for: .milliseconds(100))
            let waiter = Task { try await client.send("GET", "\(prefix):k") }
            try await Task.sleep(for: .milliseconds(50))
            let cancelledAt = ContinuousClock.now
            waiter.cancel()
            let result = await waiter.result
            let waited = ContinuousClock.now - cancelledAt
            print("cancelled a caller behind a BLPOP: answered after \(waited): \(result)")
            // Generous for a shared machine, and far below the 3.85 s an uncancelled GET waits.
            #expect(waited < .seconds(2))
            #expect { try result.get() } throws: { ($0 as? RedisError)?.code == .cancelled }
            #expect(try await blocker.isNull)
            // The cancelled GET's reply was read and discarded: the next replies are in step.
            _ = try await client.send("SET", "\(prefix):k", "v")
            #expect(try await client.send("GET", "\(prefix):k").string == "v")

            // Half of 200 callers cancelled at random moments; the other half get their own values.
            let wrong = try await withThrowingTaskGroup(of: Int.self) { group in
                var tasks: [Task<RedisReply, any Error>] = []
                for index in 0..<200 {
                    let task = Task { try await client.send("ECHO", "echo-\(index)") }
                    tasks.append(task)
                    if index % 2 == 1 { task.cancel() }
                }
                for (index, task) in tasks.enumerated() {
                    group.addTask {
                        switch await task.result {
                        case .success(let reply): return reply.string == "echo-\(index)" ? 0 : 1
                        case .failure(let error): return index % 2 == 1 && (error as? RedisError)?.code == .cancelled ? 0 : 1
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(wrong == 0)
        }
    }
}
