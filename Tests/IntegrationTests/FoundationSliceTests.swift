import Foundation
import Postgres
import Redis
import PoolProtocol
import Testing
import TestSupport

/// The thin slice across every service: real Redis, PostgreSQL, PgBouncer and the three
/// real executables.
@Suite(.serialized) struct FoundationSliceTests {
    @Test(.timeLimit(.minutes(3)))
    func poolsEndpointShowsRegisteredWorkersWithEveryContractField() async throws {
        try await TestStack.with(name: "pools", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let pool = stack.pools[0]

            let list = try await stack.http.get("/api/v1/agents/pools")
            #expect(list.status == 200)
            let entries = try #require(try list.json() as? [[String: Any]])
            let entry = try #require(entries.first { $0["pool_name"] as? String == pool })
            let fields = [
                "pool_name", "role", "process_count", "total_capacity", "used_capacity", "available_capacity",
                "agent_count", "utilization", "active_worker_processes", "max_agents_per_process", "min_workers",
                "max_workers", "desired_workers",
            ]
            for field in fields { #expect(entry[field] != nil, "missing \(field)") }
            #expect(entry["process_count"] as? Int == 1)
            #expect(entry["total_capacity"] as? Int == 10)
            #expect(entry["available_capacity"] as? Int == 10)
            #expect(entry["role"] as? String == "developer")

            let scores = try await stack.redis.send("ZREVRANGE", RedisKeys.poolProcesses(pool), "0", "-1", "WITHSCORES")
            #expect(scores.array?.count == 2)
            #expect(scores.array?.last?.string == "10")

            let detail = try await stack.http.get("/api/v1/agents/pools/\(pool)")
            #expect(detail.status == 200)
            let workers = try #require((try detail.json() as? [String: Any])?["workers"] as? [[String: Any]])
            #expect(workers.count == 1)
            for field in ["process_id", "pool_name", "pid", "host", "max_agents", "agent_count", "available", "status", "started_at", "last_heartbeat"] {
                #expect(workers.first?[field] != nil, "missing worker field \(field)")
            }

            let unknown = try await stack.http.get("/api/v1/agents/pools/no_such_pool")
            #expect(unknown.status == 404)
            #expect((try unknown.json() as? [String: [String: String]])?["error"]?["code"] == "pool_not_found")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func spawnTravelsGatewayManagerWorkerAndAnswers201Running() async throws {
        try await TestStack.with(name: "spawn", poolYAML: "  - name: {pool}\n    role: tester\n") { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let pool = stack.pools[0]

            let started = ContinuousClock.now
            let reply = try await stack.http.send(
                "POST", "/api/v1/agents/pools/\(pool)/agents",
                body: Data(#"{"name":"first","metadata":{"team":"core","level":2}}"#.utf8))
            print("spawn answered \(reply.status) after \(ContinuousClock.now - started)")
            #expect(reply.status == 201, "\(reply.text)")
            let agent = try reply.decode(AgentView.self)
            #expect(agent.status == .running)
            #expect(agent.name == "first")
            #expect(agent.metadata["team"] == .string("core"))
            let processID = try #require(agent.processID)

            // PostgreSQL (direct, not through PgBouncer) holds the row, running on that worker.
            let rows = try await stack.postgres.query(
                "SELECT status, process_id::text AS process_id FROM agents WHERE id = $1::uuid", [agent.agentID])
            #expect(rows.rows.count == 1)
            #expect(rows.rows.first?["status"] == "running")
            #expect(rows.rows.first?["process_id"] == processID)

            // The registry's keys are exact.
            let hash = try await stack.redis.send("HGET", RedisKeys.agent(agent.agentID), "process_id")
            #expect(hash.string == processID)
            #expect(try await stack.redis.send("SISMEMBER", RedisKeys.processAgents(processID), agent.agentID).int == 1)
            #expect(try await stack.redis.send("SISMEMBER", RedisKeys.poolAgents(pool), agent.agentID).int == 1)
            #expect(try await stack.redis.send("ZSCORE", RedisKeys.poolProcesses(pool), processID).string == "9")
            #expect(try await stack.redis.send("HGET", RedisKeys.process(processID), "agent_count").string == "1")

            let fetched = try await stack.http.get("/api/v1/agents/\(agent.agentID)")
            #expect(fetched.status == 200)
            #expect(try fetched.decode(AgentView.self).status == .running)

            let stats = try await stack.http.get("/api/v1/agents/pools/\(pool)")
            let body = try #require(try stats.json() as? [String: Any])
            #expect(body["used_capacity"] as? Int == 1)
            #expect(body["agent_count"] as? Int == 1)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func workerDeregistersOnSIGTERM() async throws {
        try await TestStack.with(name: "sigterm", poolYAML: "  - name: {pool}\n    role: developer\n    min_workers: 0\n") { stack in
            let pool = stack.pools[0]
            let processID = Identifier.make()
            let worker = try stack.startWorker(label: "sigterm", processID: processID)
            try await Poll.until("the worker to register") {
                try await stack.redis.send("EXISTS", RedisKeys.process(processID)).int == 1
            }
            #expect(try await stack.redis.send("HGET", RedisKeys.process(processID), "max_agents").string == "10")
            #expect(try await stack.redis.send("ZSCORE", RedisKeys.poolProcesses(pool), processID).string == "10")
            let status = await worker.stop(signal: SIGTERM)
            #expect(status == 0)
            #expect(try await stack.redis.send("EXISTS", RedisKeys.process(processID)).int == 0)
            #expect(try await stack.redis.send("ZSCORE", RedisKeys.poolProcesses(pool), processID).isNull)
        }
    }
}
