import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// Workers that stop answering and garbage on the channels: every spawn gets an answer, no
/// agent is stuck or runs twice, and the services keep serving.
@Suite(.serialized) struct RobustnessTests {
    @Test(.timeLimit(.minutes(3)))
    func frozenWorkerMakesSpawnTimeOutThenTheAgentRunsElsewhereOnce() async throws {
        try await TestStack.with(name: "sigstop", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway(spawnTimeout: 2)
            let pool = stack.pools[0]
            let (frozenID, frozenPID) = try #require(try await stack.workerPIDs(pool).first)
            kill(frozenPID, SIGSTOP)
            defer { kill(frozenPID, SIGCONT) }

            let started = ContinuousClock.now
            let reply = try await stack.spawn(body: #"{"name":"patient"}"#)
            print("spawn on a frozen worker answered \(reply.status) after \(ContinuousClock.now - started)")
            #expect(reply.status == 504)
            #expect((try reply.json() as? [String: [String: String]])?["error"]?["code"] == "spawn_timeout")

            let rows = try await stack.postgres.query("SELECT id::text AS id FROM agents WHERE pool_name = $1", [pool])
            let agentID = try #require(rows.rows.first?["id"])
            var final: AgentView?
            let waited = try await Poll.until("the agent to end running elsewhere or failed", timeout: .seconds(45), every: .milliseconds(200)) {
                let agent = try await stack.http.get("/api/v1/agents/\(agentID)").decode(AgentView.self)
                final = agent
                return agent.status == .running || agent.status == .failed
            }
            print("after the 504 the agent was \(final?.status.rawValue ?? "?") after another \(waited)")
            #expect(final?.status == .running)
            #expect(final?.processID != frozenID)

            // Thaw the frozen worker: it was declared dead, so it must not start the agent too.
            kill(frozenPID, SIGCONT)
            try await Task.sleep(for: .seconds(2))
            #expect(try await stack.redis.send("SISMEMBER", RedisKeys.processAgents(frozenID), agentID).int == 0)
            let hosts = try await stack.workerPIDs(pool).keys
            var placements = 0
            for processID in hosts {
                placements += try await stack.redis.send("SISMEMBER", RedisKeys.processAgents(processID), agentID).int ?? 0
            }
            #expect(placements == 1)
            #expect(try await stack.redis.send("HGET", RedisKeys.agent(agentID), "process_id").string == final?.processID)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func malformedLinesOnEveryChannelChangeNothing() async throws {
        try await TestStack.with(name: "garbage", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let pool = stack.pools[0]
            #expect(try await stack.spawn().status == 201)
            let before = try await stack.poolStats()

            let lines = [
                "", "not json", "{}", "[1,2]", "{\"v\":1,\"type\":\"start_agent\",\"message_id\":\"x\"}",
                "{\"v\":9,\"type\":\"stop_agent\"}", "{\"v\":1,\"type\":\"retire_worker\",\"message_id\":\"x\",\"target_process_id\":\"*\",\"epoch\":1}",
                String(repeating: "{", count: 10_000), "\u{0}\u{1}\u{2}",
                "{\"v\":1,\"type\":\"agent_started\",\"message_id\":\"x\",\"process_id\":\"../../\",\"agent_id\":\"x\"}",
            ]
            let worker = try #require(try await stack.workerPIDs(pool).keys.first)
            let channels = [RedisKeys.processCommands(worker), RedisKeys.poolCommands(pool), RedisKeys.poolEvents(pool), RedisKeys.poolRequests(pool)]
            for channel in channels {
                for line in lines { _ = try await stack.redis.send("PUBLISH", channel, line) }
            }
            try await Task.sleep(for: .seconds(1))

            // Everyone is alive and serving; nothing changed.
            for service in stack.services { #expect(service.isRunning, "\(service.name) died") }
            for pid in try await stack.workerPIDs(pool).values { #expect(ProcessState.isRunning(pid)) }
            let after = try await stack.poolStats()
            #expect(after["agent_count"] as? Int == before["agent_count"] as? Int)
            #expect(after["process_count"] as? Int == before["process_count"] as? Int)
            #expect(try await stack.spawn().status == 201)
            let log = stack.services.map(\.log).joined()
            #expect(log.contains("Dropped a line"))
            #expect(log.contains("Dropped a line on the commands channel"), "the worker did not check its own channel's lines")
            #expect(!log.contains("not json"), "a dropped line was echoed into the logs")
        }
    }
}
