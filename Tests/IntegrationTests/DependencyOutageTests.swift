import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// Redis goes away and comes back empty: the gateway answers 503 meanwhile, every service
/// reconnects by itself, and every agent that should run runs again exactly once.
@Suite(.serialized) struct DependencyOutageTests {
    @Test(.timeLimit(.minutes(3)))
    func redisRestartLosesNoAgent() async throws {
        let environment = try TestEnvironment.load()
        let redis = try PrivateRedis(logDirectory: environment.logDirectory)
        try await redis.start()
        try await TestStack.with(name: "redisrestart", poolYAML: "  - name: {pool}\n    role: developer\n", redisURL: redis.url) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            var agents: [AgentView] = []
            for _ in 0..<5 { agents.append(try await stack.spawn().decode(AgentView.self)) }

            await redis.kill()
            // /readyz answers from a check at most a second old (ReadinessCheck).
            try await Poll.until("/readyz to answer 503", timeout: .seconds(5)) { try await stack.http.get("/readyz").status == 503 }
            let refused = try await stack.spawn()
            #expect(refused.status == 503, "\(refused.text)")
            #expect((try? refused.json() as? [String: [String: String]])?["error"]?["code"] != nil)
            // The gateway had just seen the pool's leader, so it may have skipped the check and
            // recorded the agent before Redis failed it: the refused spawn still leaves no row.
            let rows = try await stack.postgres.query("SELECT count(*) AS n FROM agents WHERE pool_name = $1", [stack.pools[0]])
            #expect(rows.rows.first?["n"] == "5")
            // The outage shows in the gateway's metrics.
            let samples = try #require(MetricsTests.parse(try await stack.http.get("/metrics").text))
            #expect(MetricsTests.total(samples, "agentpool_redis_errors_total") >= 1)

            try await redis.start()
            let started = ContinuousClock.now
            try await Poll.until("the gateway to be ready again", timeout: .seconds(20)) {
                try await stack.http.get("/readyz").status == 200
            }
            let recovered = try await Poll.until("every agent to run again exactly once", timeout: .seconds(45), every: .milliseconds(200)) {
                try await stack.allRunningExactlyOnce(agents.map(\.agentID))
            }
            print("after an empty Redis came back, all agents ran again after \(ContinuousClock.now - started) (poll \(recovered))")
            var reply = try await stack.spawn()
            let spawnStarted = ContinuousClock.now
            while reply.status == 503, ContinuousClock.now - spawnStarted < .seconds(20) {
                try await Task.sleep(for: .milliseconds(200))
                reply = try await stack.spawn()
            }
            #expect(reply.status == 201, "\(reply.text)")
            for service in stack.services { #expect(service.isRunning, "\(service.name) died") }
        }
        await redis.kill()
    }
}
