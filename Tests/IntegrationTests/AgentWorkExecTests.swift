import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// Agents whose code is a child process (`runtime: exec`), on real processes: the Python
/// example agent of `examples/agents/python`, driven by its inputs.
@Suite(.serialized) struct AgentWorkExecTests {
    static func execPool(_ extra: String = "") throws -> String {
        let agent = try TestEnvironment.load().repository + "/examples/agents/python/agent.py"
        return """
              - name: {pool}
                role: developer
                max_attempts: 2
                runtime:
                  kind: exec
                  command: ["/usr/bin/python3", "\(agent)"]
                  start_timeout: 10
            \(extra)
            """
    }

    @Test(.timeLimit(.minutes(2)))
    func aSpawnAnswersOnceTheChildIsReadyAndItsTasksRunThere() async throws {
        try await TestStack.with(name: "execbasic", poolYAML: try Self.execPool()) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let started = ContinuousClock.now
            let agent = try await stack.spawnAgent()
            print("spawn into an exec pool answered after \(ContinuousClock.now - started)")
            var times: [Duration] = []
            for index in 0..<20 {
                let sent = ContinuousClock.now
                let reply = try await stack.submitTask(agent: agent, body: #"{"input":{"op":"echo","n":\#(index)}}"#, wait: 10)
                times.append(ContinuousClock.now - sent)
                #expect(reply.status == 200, "\(reply.text)")
                #expect(((try reply.json() as? [String: Any])?["output"] as? [String: Any])?["n"] as? Int == index)
            }
            print("exec echo round trips: median \(times.sorted()[times.count / 2])")
            let steps = try await stack.submitTaskID(agent: agent, input: #"{"op":"steps","steps":3,"delay":0.02}"#)
            #expect(try await stack.finalTask(steps)["status"] as? String == "succeeded")
            #expect(try await stack.taskEvents(steps) == ["queued", "started", "progress", "progress", "progress", "succeeded"])
            // `?wait` through progress wake-ups answers the outcome; a wait that ends between
            // two progress events answers the task as it is then (running), not as submitted.
            let throughProgress = try await stack.submitTask(agent: agent, body: #"{"input":{"op":"steps","steps":3,"delay":0.05}}"#, wait: 10)
            #expect(throughProgress.status == 200)
            let outcome = (try throughProgress.json() as? [String: Any])?["status"] as? String
            #expect(outcome == "succeeded", "\(throughProgress.text)")
            let waitStarted = ContinuousClock.now
            let midway = try await stack.submitTask(agent: agent, body: #"{"input":{"op":"steps","steps":8,"delay":0.25}}"#, wait: 1)
            print("a 1 s wait on a task sending progress every 0.25 s answered \(midway.status) after \(ContinuousClock.now - waitStarted)")
            #expect(midway.status == 202, "\(midway.text)")
            let midwayStatus = (try midway.json() as? [String: Any])?["status"] as? String
            #expect(midwayStatus == "running", "\(midway.text)")
            _ = try await stack.finalTask(try TestStack.field(midway, "task_id"))
            // The child's environment holds the allowed names only: none of AgentPool's settings.
            let env = try await stack.finalTask(try await stack.submitTaskID(agent: agent, input: #"{"op":"env"}"#))
            let names = Set(((env["output"] as? [String: Any]) ?? [:]).keys)
            #expect(names.isSubset(of: ["PATH", "HOME", "LANG", "TZ", "LC_CTYPE"]), "\(names.sorted())")
            #expect(!names.contains("REDIS_URL") && !names.contains("PGBOUNCER_URL"))
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func theAgentsStateSurvivesAKill9OfItsWorker() async throws {
        try await TestStack.with(name: "execstate", poolYAML: try Self.execPool()) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            for index in 0..<3 {
                let reply = try await stack.submitTask(agent: agent, body: #"{"input":{"op":"echo","n":\#(index)}}"#, wait: 10)
                #expect(reply.status == 200, "\(reply.text)")
            }
            let before = try #require(try await stack.http.get("/api/v1/agents/\(agent)").json() as? [String: Any])
            let worker = try #require(before["process_id"] as? String)
            let pid = try #require(try await stack.workerPIDs(stack.pools[0])[worker])
            kill(pid, SIGKILL)
            let killed = ContinuousClock.now
            try await Poll.until("the agent to run on another worker", timeout: .seconds(30)) {
                let now = try await stack.http.get("/api/v1/agents/\(agent)").json() as? [String: Any]
                return now?["status"] as? String == "running" && (now?["process_id"] as? String).map { $0 != worker } == true
            }
            print("agent running on a new worker \(ContinuousClock.now - killed) after kill -9")
            let state = try await stack.submitTask(agent: agent, body: #"{"input":{"op":"state"}}"#, wait: 10)
            let output = try #require(((try state.json() as? [String: Any])?["output"]) as? [String: Any])
            #expect(output["tasks_done"] as? Int == 3, "\(output)")
            #expect((output["recent_inputs"] as? [Any])?.count == 3)
        }
    }

    /// A `start_agent` that says the agent is new (the gateway's own placement of a spawn it
    /// just recorded) lets the worker start the code without reading a checkpoint. Should the
    /// hint be wrong (a stale or replayed command for an agent that ran since), the running
    /// record tells, and the code starts again with its checkpoint before any task reaches it.
    @Test(.timeLimit(.minutes(3)))
    func aStartThatWronglySaysNewStillHandsTheCodeItsCheckpoint() async throws {
        try await TestStack.with(name: "execnew", poolYAML: try Self.execPool("    min_workers: 2")) { stack in
            let pool = stack.pools[0]
            try await stack.startManager(minimumWorkers: 2)
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            for index in 0..<3 {
                let reply = try await stack.submitTask(agent: agent, body: #"{"input":{"op":"echo","n":\#(index)}}"#, wait: 10)
                #expect(reply.status == 200, "\(reply.text)")
            }
            let before = try #require(try await stack.http.get("/api/v1/agents/\(agent)").json() as? [String: Any])
            let first = try #require(before["process_id"] as? String)
            let workers = try await stack.workerPIDs(pool)
            let other = try #require(workers.keys.first { $0 != first })
            // With the manager paused, the agent's worker hands it back on SIGTERM and nobody
            // places it again: its row waits, unplaced, with its checkpoint.
            let manager = try #require(stack.services.first { $0.name.hasSuffix("-manager") })
            kill(manager.pid, SIGSTOP)
            var resumed = false
            defer { if !resumed { kill(manager.pid, SIGCONT) } }
            kill(try #require(workers[first]), SIGTERM)
            try await Poll.until("the agent's row to be unplaced", timeout: .seconds(30)) {
                let row = try await stack.postgres.query("SELECT status, process_id::text AS p FROM agents WHERE id = $1::uuid", [agent])
                return row.rows.first?["status"] == "pending" && row.rows.first?["p"] == nil
            }
            let epoch = try #require(try await stack.redis.send("GET", RedisKeys.poolEpoch(pool)).string.flatMap { Int($0) })
            let spec = AgentSpec(agentID: agent, name: "a", poolName: pool, role: "developer", metadata: [:])
            let line = MessageCodec.encode(.startAgent(StartAgent(targetProcessID: other, epoch: epoch, agent: spec, isNew: true)))
            _ = try await stack.redis.send("PUBLISH", RedisKeys.processCommands(other), String(decoding: line, as: UTF8.self))
            let sent = ContinuousClock.now
            try await Poll.until("the agent to run on the other worker", timeout: .seconds(30)) {
                let now = try await stack.http.get("/api/v1/agents/\(agent)").json() as? [String: Any]
                return now?["status"] as? String == "running" && now?["process_id"] as? String == other
            }
            print("the agent ran on the other worker \(ContinuousClock.now - sent) after its start said new")
            kill(manager.pid, SIGCONT)
            resumed = true
            let state = try await stack.submitTask(agent: agent, body: #"{"input":{"op":"state"}}"#, wait: 10)
            let output = try #require(((try state.json() as? [String: Any])?["output"]) as? [String: Any])
            #expect(output["tasks_done"] as? Int == 3, "\(output)")
            #expect(stack.services.map(\.log).joined().contains("Agent was not new; starting its code again with its checkpoint"))
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aChildThatExitsMidTaskIsRestartedAndTheAttemptRetried() async throws {
        try await TestStack.with(name: "execcrash", poolYAML: try Self.execPool()) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            let crash = try await stack.submitTaskID(agent: agent, input: #"{"op":"crash","code":3}"#)
            let task = try await stack.finalTask(crash)
            #expect(task["status"] as? String == "failed")
            #expect(task["attempt"] as? Int == 2)
            #expect((task["error"] as? [String: Any])?["retryable"] as? Bool == true)
            print("a crashing task ended: \(task["error"] ?? "")")
            // The child was restarted: the agent keeps working, and it is still running.
            let echo = try await stack.submitTask(agent: agent, body: #"{"input":{"op":"echo"}}"#, wait: 10)
            #expect(echo.status == 200, "\(echo.text)")
            let after = try await stack.http.get("/api/v1/agents/\(agent)").json() as? [String: Any]
            #expect(after?["status"] as? String == "running")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func garbageLongLinesAndFloodsHarmOnlyTheirOwnTask() async throws {
        try await TestStack.with(name: "execgarbage", poolYAML: try Self.execPool()) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            for input in [#"{"op":"garbage"}"#, #"{"op":"long_line","bytes":2097152}"#, #"{"op":"flood","bytes":20971520}"#] {
                let started = ContinuousClock.now
                let task = try await stack.finalTask(try await stack.submitTaskID(agent: agent, input: input))
                print("\(input) ended \(task["status"] ?? "?") after \(ContinuousClock.now - started)")
                #expect(task["status"] as? String == "succeeded", "\(input): \(task["error"] ?? "")")
            }
            let echo = try await stack.submitTask(agent: agent, body: #"{"input":{"op":"echo"}}"#, wait: 10)
            #expect(echo.status == 200)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aCancelTheAgentIgnoresEndsTheTaskWithinTheGraceAndRestartsTheChild() async throws {
        try await TestStack.with(name: "execignore", poolYAML: try Self.execPool()) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            let stubborn = try await stack.submitTaskID(agent: agent, input: #"{"op":"ignore_cancel","seconds":60}"#)
            try await stack.waitForTask(stubborn, status: .running)
            let started = ContinuousClock.now
            let reply = try await stack.http.send("POST", "/api/v1/tasks/\(stubborn)/cancel")
            let took = ContinuousClock.now - started
            print("cancel ignored by the agent answered \(reply.status) after \(took)")
            #expect(reply.status == 200)
            #expect((try reply.json() as? [String: Any])?["status"] as? String == "cancelled")
            #expect(took < .seconds(6.5))
            let echo = try await stack.submitTask(agent: agent, body: #"{"input":{"op":"echo"}}"#, wait: 15)
            #expect(echo.status == 200, "the restarted child answers: \(echo.text)")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func anAgentWhoseChildExitsAtEveryStartEndsFailedAndFailsItsTasks() async throws {
        let crashFile = NSTemporaryDirectory() + "agentpool-crash-\(Identifier.make())"
        defer { try? FileManager.default.removeItem(atPath: crashFile) }
        let pool = try Self.execPool().replacingOccurrences(
            of: "start_timeout: 10", with: "start_timeout: 10\n      env: {AGENT_CRASH_AT_START: \"\(crashFile)\"}")
        try await TestStack.with(name: "execloop", poolYAML: pool) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()
            // From now on the child exits whenever it starts; then it is made to exit once.
            _ = FileManager.default.createFile(atPath: crashFile, contents: Data())
            let crash = try await stack.submitTaskID(agent: agent, input: #"{"op":"crash"}"#)
            let queued = try await stack.submitTaskID(agent: agent, input: #"{"op":"echo"}"#)
            let started = ContinuousClock.now
            try await Poll.until("the agent to fail", timeout: .seconds(60)) {
                (try await stack.http.get("/api/v1/agents/\(agent)").json() as? [String: Any])?["status"] as? String == "failed"
            }
            print("agent failed \(ContinuousClock.now - started) after its child began exiting at every start")
            let row = try await stack.postgres.query("SELECT failure_reason FROM agents WHERE id = $1::uuid", [agent])
            print("failure reason: \(row.rows.first?["failure_reason"] ?? "-")")
            #expect(row.rows.first?["failure_reason"]?.isEmpty == false)
            for id in [crash, queued] {
                let task = try await stack.task(id)
                #expect(task["status"] as? String == "failed", "\(id)")
                #expect(((task["error"] as? [String: Any])?["message"] as? String)?.hasPrefix("agent failed") == true, "\(task["error"] ?? "")")
            }
            let refused = try await stack.submitTask(agent: agent, body: #"{"input":1}"#)
            #expect(refused.status == 409)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func anAgentThatNeverSaysReadyFailsItsSpawn() async throws {
        let pool = try Self.execPool().replacingOccurrences(of: "start_timeout: 10", with: "start_timeout: 1\n      env: {AGENT_NO_READY: \"1\"}")
        try await TestStack.with(name: "execnoready", poolYAML: pool) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let started = ContinuousClock.now
            let reply = try await stack.spawn()
            print("spawn of an agent that never says ready answered \(reply.status) after \(ContinuousClock.now - started): \(reply.text)")
            #expect(reply.status == 503, "\(reply.text)")
            let agents = try await stack.postgres.query(
                "SELECT status, failure_reason FROM agents WHERE pool_name = $1", [stack.pools[0]])
            #expect(agents.rows.first?["status"] == "failed")
            #expect(agents.rows.first?["failure_reason"]?.contains("ready") == true, "\(agents.rows.first?["failure_reason"] ?? "")")
        }
    }
}
