import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// Tasks through faults, on real processes (contract section 5, "Never lost", "One outcome"):
/// a worker killed with an attempt in flight, Redis losing its data, a DELETE while the
/// agent's worker dies.
@Suite(.serialized) struct AgentWorkFaultTests {
    static let sleepPool = "  - name: {pool}\n    role: developer\n    runtime: {kind: builtin, name: sleep}\n    max_attempts: 5\n"

    /// The worker running the task's attempt (its `owner` in PostgreSQL).
    static func owner(of taskID: String, _ stack: TestStack) async throws -> String? {
        try await stack.postgres.query("SELECT owner::text AS owner FROM tasks WHERE task_id = $1::uuid", [taskID]).rows.first?["owner"]
    }

    @Test(.timeLimit(.minutes(3)))
    func aTaskInFlightOnAKilledWorkerFinishesExactlyOnceOnTheNewHost() async throws {
        try await TestStack.with(name: "workkill", poolYAML: Self.sleepPool) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            let taskID = try await stack.submitTaskID(agent: agent, input: #"{"seconds":1.5}"#)
            try await stack.waitForTask(taskID, status: .running)
            let owner = try #require(try await Self.owner(of: taskID, stack))
            let pid = try #require(try await stack.workerPIDs(stack.pools[0])[owner])
            kill(pid, SIGKILL)
            let killed = ContinuousClock.now
            let task = try await stack.finalTask(taskID, timeout: .seconds(60))
            print("task in flight on a killed worker ended \(task["status"] ?? "?") after \(ContinuousClock.now - killed), attempt \(task["attempt"] ?? 0)")
            #expect(task["status"] as? String == "succeeded")
            #expect(task["attempt"] as? Int == 2)
            #expect(try await stack.taskEvents(taskID) == ["queued", "started", "retrying", "started", "succeeded"])
            #expect(try await Self.owner(of: taskID, stack) == nil)
            // The agent runs again elsewhere and keeps taking work.
            let next = try await stack.submitTaskID(agent: agent, input: #"{"seconds":0}"#)
            #expect(try await stack.finalTask(next)["status"] as? String == "succeeded")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aWorkerStoppedWithSIGTERMHandsItsTaskBackWithoutCountingAnAttempt() async throws {
        try await TestStack.with(name: "workdrain", poolYAML: Self.sleepPool) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            let taskID = try await stack.submitTaskID(agent: agent, input: #"{"seconds":7}"#)
            try await stack.waitForTask(taskID, status: .running)
            let owner = try #require(try await Self.owner(of: taskID, stack))
            let pid = try #require(try await stack.workerPIDs(stack.pools[0])[owner])
            kill(pid, SIGTERM)
            let stopped = ContinuousClock.now
            let task = try await stack.finalTask(taskID, timeout: .seconds(60))
            print("task handed back by a SIGTERMed worker ended \(task["status"] ?? "?") after \(ContinuousClock.now - stopped)")
            #expect(task["status"] as? String == "succeeded")
            // The handover is AgentPool's own choice: it does not count as an attempt.
            #expect(task["attempt"] as? Int == 1)
            #expect(try await stack.taskEvents(taskID) == ["queued", "started", "queued", "started", "succeeded"])
            #expect(!ProcessState.isRunning(pid))
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func redisLosingItsDataLosesNoAcceptedTask() async throws {
        let environment = try TestEnvironment.load()
        let redis = try PrivateRedis(logDirectory: environment.logDirectory)
        try await redis.start()
        try await TestStack.with(name: "workredis", poolYAML: Self.sleepPool, redisURL: redis.url) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agents = [try await stack.spawnAgent(), try await stack.spawnAgent()]
            var ids: [String] = []
            for index in 0..<30 {
                ids.append(try await stack.submitTaskID(agent: agents[index % 2], input: #"{"seconds":0.1}"#))
            }
            try await Task.sleep(for: .milliseconds(300))
            await redis.kill()
            try await Task.sleep(for: .seconds(1))
            try await redis.start()
            let restarted = ContinuousClock.now
            var statuses: [String: Int] = [:]
            for id in ids {
                let task = try await stack.finalTask(id, timeout: .seconds(90))
                statuses[task["status"] as? String ?? "?", default: 0] += 1
            }
            print("30 tasks across a Redis restart without data: \(statuses), all ended \(ContinuousClock.now - restarted) after it")
            #expect(statuses == ["succeeded": 30])
            for id in ids {
                let finals = try await stack.taskEvents(id).filter { TaskEventKind(rawValue: $0)?.isFinal == true }
                #expect(finals == ["succeeded"], "\(id)")
            }
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aDeleteWhileTheAgentsWorkerDiesCancelsEveryTask() async throws {
        try await TestStack.with(name: "workdelkill", poolYAML: Self.sleepPool) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            var ids: [String] = []
            for _ in 0..<3 { ids.append(try await stack.submitTaskID(agent: agent, input: #"{"seconds":30}"#)) }
            try await stack.waitForTask(ids[0], status: .running)
            let owner = try #require(try await Self.owner(of: ids[0], stack))
            let pid = try #require(try await stack.workerPIDs(stack.pools[0])[owner])
            async let deleted = stack.http.send("DELETE", "/api/v1/agents/\(agent)")
            kill(pid, SIGKILL)
            let reply = try await deleted
            print("DELETE while its worker was killed answered \(reply.status)")
            #expect([200, 504].contains(reply.status), "\(reply.text)")
            try await Poll.until("the agent to end", timeout: .seconds(30)) {
                try await stack.http.get("/api/v1/agents/\(agent)").text.contains("\"terminated\"")
            }
            for id in ids {
                let task = try await stack.finalTask(id)
                #expect(task["status"] as? String == "cancelled", "\(id)")
            }
            let running = try await stack.postgres.query(
                "SELECT count(*) AS n FROM tasks WHERE agent_id = $1::uuid AND status IN ('queued', 'running')", [agent])
            #expect(running.rows.first?["n"] == "0")
        }
    }
}
