import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// Failures in the middle of work, on real processes. After each scenario the pool must be
/// consistent (`TestStack.poolIsConsistent`): every agent that should run runs exactly once,
/// no registry key points at a dead process, PostgreSQL and Redis agree.
@Suite(.serialized) struct ChaosTests {
    @Test(.timeLimit(.minutes(3)))
    func leaderKilledDuringABurstOfSpawns() async throws {
        try await TestStack.with(name: "chaosleader", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager(label: "manager-a")
            try await stack.startManager(label: "manager-b")
            try await stack.startGateway()
            let leader = try #require(stack.services.first { $0.name.contains("manager") && $0.log.contains("Leading pool") })
            let started = ContinuousClock.now
            let replies = try await withThrowingTaskGroup(of: HTTPClient.Reply.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try await Task.sleep(for: .milliseconds(10 * index))
                        return try await stack.spawn(body: #"{"name":"burst-\#(index)"}"#)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(60))
                    kill(leader.pid, SIGKILL)
                    return HTTPClient.Reply(status: 0, headers: [:], body: Data())
                }
                return try await group.reduce(into: [HTTPClient.Reply]()) { $0.append($1) }
            }.filter { $0.status != 0 }
            print("burst with the leader killed: \(replies.map(\.status)) after \(ContinuousClock.now - started)")
            #expect(replies.allSatisfy { [201, 504].contains($0.status) })
            let healed = try await Poll.until("the pool to be consistent", timeout: .seconds(30), every: .milliseconds(200)) {
                try await stack.poolIsConsistent()
            }
            print("pool consistent \(healed) after the burst")
            let running = try await stack.postgres.query(
                "SELECT count(*) AS n FROM agents WHERE pool_name = $1 AND status = 'running'", [stack.pools[0]])
            #expect(running.rows.first?["n"] == "20")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func pgbouncerRestartHealsByItself() async throws {
        guard let directory = ProcessInfo.processInfo.environment["AGENTPOOL_TEST_PGBOUNCER_DIR"] else {
            throw SetupError("AGENTPOOL_TEST_PGBOUNCER_DIR is not set: run the tests through scripts/test")
        }
        try await TestStack.with(name: "chaosbouncer", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway()
            var agents: [AgentView] = []
            for _ in 0..<3 { agents.append(try await stack.spawn().decode(AgentView.self)) }

            let pidText = try String(contentsOfFile: directory + "/pgbouncer.pid", encoding: .utf8)
            let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
            // A crash, not a polite stop (a PgBouncer started from a test inherits a signal mask
            // that blocks SIGTERM).
            kill(pid, SIGKILL)
            try await Poll.until("PgBouncer to stop", timeout: .seconds(15)) { !ProcessState.isRunning(pid) }
            // A crashed PgBouncer leaves its pidfile; where nothing reaps the dead process, the
            // new one would take it for a running instance.
            try FileManager.default.removeItem(atPath: directory + "/pgbouncer.pid")
            let down = try await stack.spawn()
            #expect(down.status == 503, "\(down.text)")
            // /readyz answers from a check at most a second old (ReadinessCheck).
            try await Poll.until("/readyz to answer 503", timeout: .seconds(5)) { try await stack.http.get("/readyz").status == 503 }
            let samples = try #require(MetricsTests.parse(try await stack.http.get("/metrics").text))
            #expect(MetricsTests.total(samples, "agentpool_postgres_errors_total", containing: "kind=\"connection\"") >= 1)

            // PgBouncer refuses root, so it runs as postgres; readiness below shows it is back.
            // python3 clears the inherited signal mask first, so that the new PgBouncer stops on
            // SIGTERM when the test command cleans up.
            let unblock = "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execvp(sys.argv[1], sys.argv[1:])"
            let restart = try ServiceProcess(
                name: "chaosbouncer-restart", executable: "/usr/bin/python3",
                arguments: ["-c", unblock, "runuser", "-u", "postgres", "--", "pgbouncer", "-d", "-q", directory + "/pgbouncer.ini"],
                environment: ProcessInfo.processInfo.environment, logDirectory: stack.environment.logDirectory)
            let started = ContinuousClock.now
            try await Poll.until("the gateway to be ready again", timeout: .seconds(20)) {
                try await stack.http.get("/readyz").status == 200
            }
            var reply = try await stack.spawn()
            while reply.status == 503, ContinuousClock.now - started < .seconds(20) {
                try await Task.sleep(for: .milliseconds(200))
                reply = try await stack.spawn()
            }
            print("after PgBouncer restarted, spawns worked again after \(ContinuousClock.now - started)")
            #expect(reply.status == 201, "\(reply.text)")
            #expect(try await stack.http.send("DELETE", "/api/v1/agents/\(agents[0].agentID)").status == 200)
            try await Poll.until("the pool to be consistent", timeout: .seconds(20)) { try await stack.poolIsConsistent() }
            withExtendedLifetime(restart) {}  // its deinit would kill what it started
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func lostPlacementRequestIsRepairedByReconcile() async throws {
        try await TestStack.with(name: "chaoslost", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway()
            // An agent recorded as the gateway records it, whose place_agent never arrived.
            let agentID = Identifier.make()
            _ = try await stack.postgres.query(
                """
                INSERT INTO agents (id, name, pool_name, role, metadata, desired_state, status)
                VALUES ($1::uuid, 'orphan', $2, 'developer', '{"lost": true}'::jsonb, 'running', 'pending')
                """,
                [agentID, stack.pools[0]])
            let repaired = try await Poll.until("reconcile to place the agent", timeout: .seconds(20)) {
                try await stack.allRunningExactlyOnce([agentID])
            }
            print("an agent whose placement message was lost ran after \(repaired) (one reconcile pass)")
            let agent = try await stack.http.get("/api/v1/agents/\(agentID)").decode(AgentView.self)
            #expect(agent.metadata["lost"] == .bool(true))
            #expect(try await stack.poolIsConsistent())
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func gatewayStoppedDuringABurstFinishesEveryRequest() async throws {
        let yaml = "  - name: {pool}\n    role: developer\n    min_workers: 0\n    launcher: external\n"
        try await TestStack.with(name: "chaosgateway", poolYAML: yaml) { stack in
            try await stack.startManager(minimumWorkers: 0)
            try await stack.startGateway(spawnTimeout: 20)
            let gateway = try #require(stack.services.last)
            // No worker yet: every spawn waits inside the gateway.
            let burst = Task {
                try await withThrowingTaskGroup(of: HTTPClient.Reply.self) { group in
                    for _ in 0..<10 { group.addTask { try await stack.spawn() } }
                    return try await group.reduce(into: [HTTPClient.Reply]()) { $0.append($1) }
                }
            }
            try await Poll.until("10 spawns to be in flight", timeout: .seconds(10)) {
                let rows = try await stack.postgres.query("SELECT count(*) AS n FROM agents WHERE pool_name = $1", [stack.pools[0]])
                return rows.rows.first?["n"] == "10"
            }
            kill(gateway.pid, SIGTERM)
            try await Task.sleep(for: .milliseconds(300))
            // An orchestrator brings a worker: the waiting spawns complete.
            let worker = try stack.startWorker(label: "late")
            defer { Task { await worker.stop() } }
            let replies = try await burst.value
            print("spawns in flight when the gateway got SIGTERM: \(replies.map(\.status))")
            #expect(replies.count == 10)
            #expect(replies.allSatisfy { $0.status == 201 })
            #expect(await gateway.waitForExit(timeout: .seconds(20)) == 0)
            #expect(try await stack.poolIsConsistent())
        }
    }
}
