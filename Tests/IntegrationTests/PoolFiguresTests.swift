import Foundation
import PoolProtocol
import Redis
import Testing

/// The pools endpoints answer from one registry reading shared by the requests of a short
/// while, with the figures of every pool exact.
@Suite(.serialized) struct PoolFiguresTests {
    @Test(.timeLimit(.minutes(3)))
    func concurrentReadsShareRegistryReadings() async throws {
        let pools = "  - name: {pool}\n    role: developer\n  - name: {pool2}\n    role: tester\n"
        try await TestStack.with(name: "figures", poolYAML: pools, poolCount: 2) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            #expect(try await stack.spawn().status == 201)

            let before = try await Self.zrangeCalls(stack.redis)
            let started = ContinuousClock.now
            let replies = try await withThrowingTaskGroup(of: HTTPClient.Reply.self) { group in
                for index in 0..<100 {
                    let path = index.isMultiple(of: 2) ? "/api/v1/agents/pools" : "/api/v1/agents/pools/\(stack.pools[0])"
                    group.addTask { try await stack.http.get(path) }
                }
                return try await group.reduce(into: [HTTPClient.Reply]()) { $0.append($1) }
            }
            let elapsed = ContinuousClock.now - started
            let calls = try await Self.zrangeCalls(stack.redis) - before
            print("100 concurrent pool reads took \(elapsed) and \(calls) ZRANGE calls (manager's own included)")
            #expect(replies.allSatisfy { $0.status == 200 }, "\(replies.map(\.status))")
            // One reading per 200 ms at most, plus the manager's reconcile passes; a read per
            // request would be at least 100.
            #expect(calls < 50)

            let list = try #require(try replies.first { $0.body.first == UInt8(ascii: "[") }?.decode([PoolStats].self))
            #expect(list.map(\.poolName) == stack.pools)
            #expect(list.allSatisfy { $0.workers == nil })
            #expect(list[0].agentCount == 1 && list[0].usedCapacity == 1 && list[0].processCount == 1)
            #expect(list[1].agentCount == 0 && list[1].processCount == 1 && list[1].usedCapacity == 0 && list[1].role == "tester")
            let detail = try #require(try replies.first { $0.body.first == UInt8(ascii: "{") }?.decode(PoolStats.self))
            #expect(detail.workers?.count == 1)
            #expect(detail.workers?.first?.available == 9)
        }
    }

    static func zrangeCalls(_ redis: RedisClient) async throws -> Int {
        let info = try await redis.send("INFO", "commandstats").string ?? ""
        let line = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("cmdstat_zrange:") } ?? ""
        let calls = line.split(separator: ",").first { $0.contains("calls=") }?.split(separator: "=").last
        return calls.flatMap { Int($0) } ?? 0
    }
}
