import Foundation
import Postgres
import Logging
import PoolProtocol
import Redis
import Testing
import TestSupport

/// A Redis that answers "not now" (`BUSY` while a long script runs) makes the gateway answer
/// 503 with `Retry-After` and a JSON error, never 500, and a refused spawn leaves no row.
@Suite(.serialized) struct GatewayBusyDependencyTests {
    /// A Lua loop that keeps Redis busy for ARGV[1] seconds (by Redis's own clock).
    static let busyLoop = """
        local function now() local t = redis.call('TIME'); return tonumber(t[1]) + tonumber(t[2]) / 1000000 end
        local started = now()
        while now() - started < tonumber(ARGV[1]) do end
        return 1
        """

    @Test(.timeLimit(.minutes(3)))
    func busyRedisAnswers503WithRetryAfter() async throws {
        let environment = try TestEnvironment.load()
        let redis = try PrivateRedis(logDirectory: environment.logDirectory)
        try await redis.start()
        try await TestStack.with(name: "busyredis", poolYAML: "  - name: {pool}\n    role: developer\n", redisURL: redis.url) { stack in
            // Redis answers BUSY once a script has run this long (default 5 s): a private
            // server, so no other suite sees it.
            _ = try await stack.redis.send("CONFIG", "SET", "busy-reply-threshold", "100")
            try await stack.startManager()
            try await stack.startGateway()
            let first = try await stack.spawn()
            #expect(first.status == 201, "\(first.text)")

            var configuration = try RedisConfiguration(url: redis.url)
            configuration.commandTimeout = .seconds(30)
            let scripter = RedisClient(configuration: configuration, poolSize: 1, logger: Logger(label: "test"))
            let busy = Task { try await scripter.send("EVAL", Self.busyLoop, "0", "4") }
            let started = ContinuousClock.now
            // Past the threshold: from now on Redis answers BUSY to everything else.
            try await Poll.until("Redis to answer BUSY", timeout: .seconds(5), every: .milliseconds(20)) {
                do {
                    _ = try await stack.redis.send("PING")
                    return false
                } catch {
                    return (error as? RedisError)?.message.hasPrefix("BUSY") == true
                }
            }
            let spawn = try await stack.spawn()
            let pools = try await stack.http.get("/api/v1/agents/pools")
            let seen = ContinuousClock.now - started
            print("busy Redis: spawn → \(spawn.status), pools → \(pools.status), \(seen) after the script started")
            for (what, reply) in [("spawn", spawn), ("pools", pools)] {
                #expect(reply.status == 503, "\(what): \(reply.status) \(reply.text.prefix(300))")
                #expect(reply.headers["retry-after"] == "5", "\(what): Retry-After \(reply.headers["retry-after"] ?? "none")")
                let error = (try? reply.json() as? [String: [String: String]])?["error"]
                #expect(error?["code"] == "dependency_unavailable", "\(what): \(reply.text.prefix(300))")
                #expect(error?["message"]?.contains("Redis") == true, "\(what): \(reply.text.prefix(300))")
            }
            // Still busy after both answers, so they were given while Redis said BUSY.
            let stillBusy: Bool
            do {
                _ = try await stack.redis.send("PING")
                stillBusy = false
            } catch {
                stillBusy = (error as? RedisError)?.message.hasPrefix("BUSY") == true
            }
            #expect(stillBusy, "the script ended before the answers came; the test proved nothing")
            _ = try await busy.value
            await scripter.close()

            // The refused spawn left nothing: only the first agent has a row.
            let rows = try await stack.postgres.query(
                "SELECT count(*) AS n FROM agents WHERE pool_name = $1", [stack.pools[0]])
            #expect(rows.rows.first?["n"] == "1")
            // And once Redis is free again, spawns work (the manager may need a moment).
            let recovered = ContinuousClock.now
            var again = try await stack.spawn()
            while again.status == 503, ContinuousClock.now - recovered < .seconds(30) {
                try await Task.sleep(for: .milliseconds(200))
                again = try await stack.spawn()
            }
            print("after the script ended, a spawn answered \(again.status) after \(ContinuousClock.now - recovered)")
            #expect(again.status == 201, "\(again.text)")
        }
        await redis.kill()
    }
}
