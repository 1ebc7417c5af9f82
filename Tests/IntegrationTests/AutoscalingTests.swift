import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// Auto-scaling as the seed guide describes it, without the original's faults: bursts fill
/// workers exactly, launch ceil(N / slots) workers at once, refuse cleanly at `max_workers`,
/// and idle workers retire one by one.
@Suite(.serialized) struct AutoscalingTests {
    @Test(.timeLimit(.minutes(3)))
    func elevenSequentialSpawnsEndOnTwoWorkers() async throws {
        try await TestStack.with(name: "eleven", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway()
            var times: [Duration] = []
            for index in 1...11 {
                let started = ContinuousClock.now
                let reply = try await stack.spawn(body: #"{"name":"dev-\#(index)"}"#)
                times.append(ContinuousClock.now - started)
                #expect(reply.status == 201, "spawn \(index): \(reply.text)")
            }
            print("11 sequential spawns: \(times.map { "\(Int($0 / .milliseconds(1)))ms" }) (the 11th needed a new worker)")
            #expect(try await stack.scores() == [9, 0])
            let stats = try await stack.poolStats()
            #expect(stats["process_count"] as? Int == 2)
            #expect(stats["used_capacity"] as? Int == 11)
            #expect(stats["available_capacity"] as? Int == 9)
            #expect(stats["total_capacity"] as? Int == 20)
            #expect(stats["agent_count"] as? Int == 11)
            #expect(stats["utilization"] as? Double == 0.55)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func burstOfTwentyFiveLaunchesExactlyThreeWorkers() async throws {
        try await TestStack.with(name: "burst", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let started = ContinuousClock.now
            let replies = try await withThrowingTaskGroup(of: HTTPClient.Reply.self) { group in
                for index in 0..<25 { group.addTask { try await stack.spawn(body: #"{"name":"burst-\#(index)"}"#) } }
                return try await group.reduce(into: [HTTPClient.Reply]()) { $0.append($1) }
            }
            print("25 concurrent spawns answered after \(ContinuousClock.now - started): \(replies.map(\.status))")
            #expect(replies.allSatisfy { $0.status == 201 })
            let agents = try replies.map { try $0.decode(AgentView.self) }
            #expect(Set(agents.map(\.agentID)).count == 25)

            let workers = try await stack.workerPIDs(stack.pools[0])
            #expect(workers.count == 3)
            var seen: [String: String] = [:]
            for processID in workers.keys {
                let hosted = try await stack.redis.send("SMEMBERS", RedisKeys.processAgents(processID)).array?.compactMap(\.string) ?? []
                #expect(hosted.count <= 10)
                for agentID in hosted {
                    #expect(seen[agentID] == nil, "agent \(agentID) placed twice")
                    seen[agentID] = processID
                }
            }
            #expect(seen.count == 25)
            for agent in agents { #expect(seen[agent.agentID] == agent.processID) }
        }
    }

    /// Spawns that keep filling the pool right after it grew are a sustained burst: after two
    /// exact rounds the pool grows by as many workers as it has (1 → 2 → 3 → 6 → 8 here), not
    /// one worker per round (7 rounds).
    @Test(.timeLimit(.minutes(3)))
    func sustainedBurstGrowsThePoolGeometrically() async throws {
        let defaults = """
              max_agents_per_process: 2
              heartbeat_interval: 0.5
              stale_after: 3
              min_workers: 1
              max_workers: 8
              idle_timeout: 600
            """
        try await TestStack.with(name: "geometric", poolYAML: "  - name: {pool}\n    role: developer\n", defaults: defaults) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let started = ContinuousClock.now
            for index in 1...16 {
                let reply = try await stack.spawn(body: #"{"name":"grow-\#(index)"}"#)
                #expect(reply.status == 201, "spawn \(index): \(reply.text)")
            }
            let rounds = (stack.services.first?.log ?? "").split(separator: "\n").filter { $0.contains("Scaling up") }.compactMap { line in
                line.firstMatch(of: /launching\W+(\d+)/).flatMap { Int($0.1) }
            }
            print("16 sequential spawns into 2-slot workers took \(ContinuousClock.now - started); launch rounds: \(rounds)")
            #expect(rounds.reduce(0, +) == 7)
            #expect(rounds.count < 7, "the pool grew one worker per round")
            #expect(rounds.contains { $0 > 1 })
            #expect(try await stack.scores() == Array(repeating: 0, count: 8))
            #expect(try await stack.poolIsConsistent())
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func fullPoolAtMaxWorkersRefusesWith503AndLeavesNothing() async throws {
        try await TestStack.with(name: "maxworkers", poolYAML: "  - name: {pool}\n    role: developer\n    max_workers: 1\n") { stack in
            try await stack.startManager()
            try await stack.startGateway()
            for _ in 0..<10 { #expect(try await stack.spawn().status == 201) }
            let started = ContinuousClock.now
            let refused = try await stack.spawn(body: #"{"name":"eleventh"}"#)
            print("the 11th spawn answered \(refused.status) after \(ContinuousClock.now - started)")
            #expect(refused.status == 503)
            #expect(refused.headers["retry-after"] != nil)
            #expect((try refused.json() as? [String: [String: String]])?["error"]?["code"] == "pool_full")

            let pool = stack.pools[0]
            let rows = try await stack.postgres.query("SELECT name, status FROM agents WHERE pool_name = $1", [pool])
            #expect(rows.rows.count == 10)
            #expect(!rows.rows.contains { $0["name"] == "eleventh" })
            #expect(try await stack.redis.send("SCARD", RedisKeys.poolAgents(pool)).int == 10)
            let workers = try await stack.workerPIDs(pool)
            #expect(workers.count == 1)
            for processID in workers.keys {
                #expect(try await stack.redis.send("ZCARD", RedisKeys.processReservations(processID)).int == 0)
            }
            #expect(try await stack.scores() == [0])
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func idleWorkerAboveMinimumRetiresAloneAfterIdleTimeout() async throws {
        let defaults = """
              max_agents_per_process: 2
              heartbeat_interval: 0.5
              stale_after: 3
              min_workers: 1
              max_workers: 5
              idle_timeout: 2
            """
        try await TestStack.with(name: "retire", poolYAML: "  - name: {pool}\n    role: developer\n", defaults: defaults) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            var agents: [AgentView] = []
            for _ in 0..<3 { agents.append(try await stack.spawn().decode(AgentView.self)) }
            let before = try await stack.workerPIDs(stack.pools[0])
            #expect(before.count == 2)
            let lonely = try #require(agents[2].processID)
            let kept = try #require(agents[0].processID)
            #expect(lonely != kept)

            #expect(try await stack.http.send("DELETE", "/api/v1/agents/\(agents[2].agentID)").status == 200)
            let waited = try await Poll.until("the idle worker to retire", timeout: .seconds(30)) {
                try await stack.redis.send("EXISTS", RedisKeys.process(lonely)).int == 0
            }
            print("idle worker retired \(waited) after its last agent left (idle_timeout 2 s)")
            #expect(try await stack.keysMentioning(lonely).isEmpty)
            let pid = try #require(before[lonely])
            try await Poll.until("the retired worker's process to exit", timeout: .seconds(10)) { !ProcessState.isRunning(pid) }

            // The other worker and its agents are untouched.
            #expect(try await stack.workerPIDs(stack.pools[0]).keys.sorted() == [kept])
            #expect(try await stack.redis.send("SCARD", RedisKeys.processAgents(kept)).int == 2)
            #expect(try await stack.http.get("/api/v1/agents/\(agents[0].agentID)").decode(AgentView.self).status == .running)
            // min_workers holds: the last worker never retires.
            try await Task.sleep(for: .seconds(3))
            #expect(try await stack.workerPIDs(stack.pools[0]).count == 1)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func workerThatCannotStartFailsTheSpawnAndBacksOff() async throws {
        let yaml = "  - name: {pool}\n    role: developer\n    min_workers: 0\n    worker_path: /bin/false\n"
        try await TestStack.with(name: "badworker", poolYAML: yaml) { stack in
            try await stack.startManager(minimumWorkers: 0)
            try await stack.startGateway()
            try await Poll.until("the manager to lead") {
                try await stack.redis.send("EXISTS", RedisKeys.poolLeader(stack.pools[0])).int == 1
            }
            for attempt in 1...2 {
                let started = ContinuousClock.now
                let reply = try await stack.spawn()
                print("spawn \(attempt) with a broken worker answered \(reply.status) after \(ContinuousClock.now - started)")
                #expect(reply.status == 503)
                #expect(reply.text.contains("no worker could be started"))
            }
            let rows = try await stack.postgres.query("SELECT count(*) AS n FROM agents WHERE pool_name = $1", [stack.pools[0]])
            #expect(rows.rows.first?["n"] == "0")
            let log = stack.services.first?.log ?? ""
            #expect(log.contains("next launch no sooner than"))
        }
    }
}
