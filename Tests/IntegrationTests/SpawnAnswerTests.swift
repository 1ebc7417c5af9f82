import Foundation
import PoolProtocol
import Postgres
import Testing

/// The answers of spawn and terminate are exactly what a `GET` of the agent shows right after
/// (the gateway builds them from what it wrote and what the worker announced, not from a
/// second read), and the pool figures a client reads after its own spawn or terminate
/// already count it.
@Suite(.serialized) struct SpawnAnswerTests {
    static let pool = "  - name: {pool}\n    role: developer\n    max_agents_per_process: 40\n"

    @Test(.timeLimit(.minutes(3)))
    func spawnAndTerminateAnswerWhatAGetShowsRightAfter() async throws {
        try await TestStack.with(name: "answers", poolYAML: Self.pool) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let pool = stack.pools[0]
            func placed() async throws -> Int? {
                let list = try await stack.http.get("/api/v1/agents/pools")
                let entries = try #require(try list.json() as? [[String: Any]])
                return entries.first { $0["pool_name"] as? String == pool }?["agent_count"] as? Int
            }

            var agents: [AgentView] = []
            var spawnTimes: [Duration] = []
            for index in 1...20 {
                // Read the pool figures just before, so that a cached answer exists to go stale.
                #expect(try await placed() == index - 1)
                let started = ContinuousClock.now
                let reply = try await stack.spawn(body: #"{"name":"answer-\#(index)","metadata":{"n":\#(index),"tag":"x/y"}}"#)
                spawnTimes.append(ContinuousClock.now - started)
                #expect(reply.status == 201, "\(reply.text)")
                let agent = try reply.decode(AgentView.self)
                #expect(agent.status == .running && agent.processID != nil)
                let fetched = try await stack.http.get("/api/v1/agents/\(agent.agentID)")
                #expect(fetched.body == reply.body, "spawn answered \(reply.text), GET shows \(fetched.text)")
                #expect(try await placed() == index, "the pools list does not count the agent just spawned")
                agents.append(agent)
            }

            var terminateTimes: [Duration] = []
            for (index, agent) in agents.enumerated() {
                let started = ContinuousClock.now
                let reply = try await stack.http.send("DELETE", "/api/v1/agents/\(agent.agentID)")
                terminateTimes.append(ContinuousClock.now - started)
                #expect(reply.status == 200, "\(reply.text)")
                #expect(try reply.decode(AgentView.self).status == .terminated)
                let fetched = try await stack.http.get("/api/v1/agents/\(agent.agentID)")
                #expect(fetched.body == reply.body, "terminate answered \(reply.text), GET shows \(fetched.text)")
                let stats = try await stack.poolStats()
                #expect(stats["agent_count"] as? Int == agents.count - index - 1, "pool stats still count a terminated agent")
            }
            print("20 sequential spawns: \(Self.summary(spawnTimes)); 20 terminates: \(Self.summary(terminateTimes))")
        }
    }

    /// The gateway remembers for a second that a manager leads the pool; a spawn in that second
    /// after the only manager left must still answer 503 `no_manager` and leave no row.
    @Test(.timeLimit(.minutes(3)))
    func spawnJustAfterTheOnlyManagerLeftIsRefusedCleanly() async throws {
        try await TestStack.with(name: "leaderleft", poolYAML: Self.pool) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let first = try await stack.spawn()
            #expect(first.status == 201, "\(first.text)")
            let seen = ContinuousClock.now
            let manager = try #require(stack.services.first { $0.name.hasSuffix("-manager") })
            #expect(await manager.stop() == 0)
            let refused = try await stack.spawn()
            print("spawn \(ContinuousClock.now - seen) after the leader was last seen answered \(refused.status)")
            #expect(refused.status == 503, "\(refused.text)")
            #expect(refused.headers["retry-after"] == "5")
            #expect((try refused.json() as? [String: [String: String]])?["error"]?["code"] == "no_manager")
            let rows = try await stack.postgres.query("SELECT count(*) AS n FROM agents WHERE pool_name = $1", [stack.pools[0]])
            #expect(rows.rows.first?["n"] == "1", "the refused spawn left a row")
        }
    }

    /// `p50 … p90 … max` in milliseconds with one decimal.
    static func summary(_ times: [Duration]) -> String {
        let sorted = times.sorted()
        func ms(_ duration: Duration) -> String { String(format: "%.1f ms", duration / .milliseconds(1)) }
        return "p50 \(ms(sorted[sorted.count / 2])), p90 \(ms(sorted[sorted.count * 9 / 10])), max \(ms(sorted.last!))"
    }
}
