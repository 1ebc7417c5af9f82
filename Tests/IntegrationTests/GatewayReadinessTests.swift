import Foundation
import Logging
import Redis
import Testing
import TestSupport

/// `/readyz` needs no key, so its checks are shared: a burst of requests costs Redis and the
/// database a check or two, not one each, and readiness still turns 503 when Redis goes away.
@Suite(.serialized) struct GatewayReadinessTests {
    /// How often the private Redis has run `PING` since the last `CONFIG RESETSTAT`.
    static func pings(_ redis: RedisClient) async throws -> Int {
        let info = try await redis.send("INFO", "commandstats").string ?? ""
        guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_ping:") }) else { return 0 }
        let calls = line.split(separator: ",").first { $0.contains("calls=") }?.split(separator: "=").last
        return calls.flatMap { Int($0) } ?? 0
    }

    @Test(.timeLimit(.minutes(3)))
    func readinessChecksAreSharedAndStillFlip() async throws {
        let environment = try TestEnvironment.load()
        let redis = try PrivateRedis(logDirectory: environment.logDirectory)
        try await redis.start()
        try await TestStack.with(name: "readyz", poolYAML: GatewaySecurityTests.pool, redisURL: redis.url) { stack in
            try await stack.startGateway()
            // Past the answer cached for startGateway's own /readyz, so the burst needs a check.
            try await Task.sleep(for: .milliseconds(1100))
            // The gateway's only PING is its readiness check: count them on this private server.
            _ = try await stack.redis.send("CONFIG", "RESETSTAT")
            let started = ContinuousClock.now
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<200 { group.addTask { try await stack.http.get("/readyz").status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let elapsed = ContinuousClock.now - started
            let checks = try await Self.pings(stack.redis)
            print("200 concurrent /readyz took \(elapsed) and cost \(checks) readiness check(s)")
            #expect(statuses.allSatisfy { $0 == 200 })
            // One check per started second of the burst, plus one that may straddle its start.
            let allowed = Int(elapsed / .seconds(1)) + 2
            #expect(checks >= 1 && checks <= allowed, "\(checks) checks for 200 requests in \(elapsed)")

            await redis.kill()
            let down = try await Poll.until("/readyz to answer 503 without Redis", timeout: .seconds(20)) {
                try await stack.http.get("/readyz").status == 503
            }
            print("/readyz answered 503 \(down) after Redis was killed")
            try await redis.start()
            let up = try await Poll.until("/readyz to answer 200 again", timeout: .seconds(30)) {
                try await stack.http.get("/readyz").status == 200
            }
            print("/readyz answered 200 \(up) after Redis came back")
        }
        await redis.kill()
    }
}
