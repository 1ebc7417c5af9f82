import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing

/// Spawn, inspect, list, terminate and idempotent spawns through the real services.
@Suite(.serialized) struct AgentLifecycleTests {
    @Test(.timeLimit(.minutes(3)))
    func terminateRemovesEveryKeyAndListsFilterExactly() async throws {
        try await TestStack.with(name: "terminate", poolYAML: "  - name: {pool}\n    role: developer\n  - name: {pool2}\n    role: tester\n", poolCount: 2) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let (first, second) = (stack.pools[0], stack.pools[1])
            var agents: [AgentView] = []
            for pool in [first, first, second] {
                let reply = try await stack.spawn(pool)
                #expect(reply.status == 201, "\(reply.text)")
                agents.append(try reply.decode(AgentView.self))
            }
            let victim = agents[0]
            let processID = try #require(victim.processID)

            let started = ContinuousClock.now
            let deleted = try await stack.http.send("DELETE", "/api/v1/agents/\(victim.agentID)")
            print("terminate answered \(deleted.status) after \(ContinuousClock.now - started)")
            #expect(deleted.status == 200, "\(deleted.text)")
            let terminated = try deleted.decode(AgentView.self)
            #expect(terminated.status == .terminated)
            #expect(terminated.processID == nil)
            #expect(try await stack.keysMentioning(victim.agentID).isEmpty)
            #expect(try await stack.redis.send("SISMEMBER", RedisKeys.processAgents(processID), victim.agentID).int == 0)
            #expect(try await stack.redis.send("HGET", RedisKeys.process(processID), "agent_count").string == "1")
            #expect(try await stack.scores(first) == [9])

            let again = try await stack.http.send("DELETE", "/api/v1/agents/\(victim.agentID)")
            #expect(again.status == 200)
            #expect(try again.decode(AgentView.self).status == .terminated)
            #expect(try await stack.http.get("/api/v1/agents/\(victim.agentID)").decode(AgentView.self).status == .terminated)
            #expect(try await stack.http.send("DELETE", "/api/v1/agents/\(Identifier.make())").status == 404)

            func list(_ query: String) async throws -> Set<String> {
                let reply = try await stack.http.get("/api/v1/agents?\(query)")
                #expect(reply.status == 200)
                return Set(try reply.decode([AgentView].self).map(\.agentID))
            }
            #expect(try await list("pool=\(first)") == [agents[0].agentID, agents[1].agentID])
            #expect(try await list("pool=\(second)") == [agents[2].agentID])
            #expect(try await list("pool=\(first)&status=running") == [agents[1].agentID])
            #expect(try await list("pool=\(first)&status=terminated") == [agents[0].agentID])
            #expect(try await list("status=running").isSuperset(of: [agents[1].agentID, agents[2].agentID]))

            let processes = try await stack.http.get("/api/v1/processes?pool=\(second)")
            let workers = try processes.decode([WorkerView].self)
            #expect(workers.count == 1)
            #expect(workers.first?.agentCount == 1)
            #expect(workers.first?.available == 9)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func idempotentSpawnHoldsUnderConcurrentRetries() async throws {
        try await TestStack.with(name: "idempotent", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let key = "order-\(Identifier.make())"
            let body = #"{"name":"same","metadata":{"n":1}}"#
            let replies = try await withThrowingTaskGroup(of: HTTPClient.Reply.self) { group in
                for _ in 0..<10 { group.addTask { try await stack.spawn(body: body, idempotencyKey: key) } }
                return try await group.reduce(into: [HTTPClient.Reply]()) { $0.append($1) }
            }
            #expect(replies.allSatisfy { $0.status == 201 }, "\(replies.map(\.status))")
            let ids = Set(try replies.map { try $0.decode(AgentView.self).agentID })
            #expect(ids.count == 1)
            let rows = try await stack.postgres.query("SELECT count(*) AS n FROM agents WHERE pool_name = $1", [stack.pools[0]])
            #expect(rows.rows.first?["n"] == "1")
            #expect(try await stack.redis.send("SCARD", RedisKeys.poolAgents(stack.pools[0])).int == 1)

            let replay = try await stack.spawn(body: body, idempotencyKey: key)
            #expect(replay.status == 201)
            #expect(try replay.decode(AgentView.self).agentID == ids.first)

            let conflict = try await stack.spawn(body: #"{"name":"other"}"#, idempotencyKey: key)
            #expect(conflict.status == 409)
            #expect((try conflict.json() as? [String: [String: String]])?["error"]?["code"] == "idempotency_key_conflict")

            // The key is scoped to the pool: another key spawns another agent.
            let other = try await stack.spawn(body: body, idempotencyKey: key + "-2")
            #expect(other.status == 201)
            #expect(try other.decode(AgentView.self).agentID != ids.first)
        }
    }
}
