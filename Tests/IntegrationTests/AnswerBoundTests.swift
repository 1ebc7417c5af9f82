import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// Every spawn and DELETE answers within its own bound, whatever hangs behind it: at once
/// with 503 when no manager runs, and within `SPAWN_TIMEOUT` plus a second while the
/// database does not answer at all.
@Suite(.serialized) struct AnswerBoundTests {
    func rowCount(_ stack: TestStack) async throws -> String? {
        try await stack.postgres.query("SELECT count(*) AS n FROM agents WHERE pool_name = $1", [stack.pools[0]]).rows.first?["n"]
    }

    @Test(.timeLimit(.minutes(3)))
    func aSpawnWithEveryManagerKilledAnswersNoManagerAtOnce() async throws {
        try await TestStack.with(name: "nomanager", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway()  // SPAWN_TIMEOUT stays the default 30 s
            #expect(try await stack.spawn().status == 201)  // the gateway has just seen a leader
            let manager = try #require(stack.services.first { $0.name.contains("manager") })
            await manager.stop(signal: SIGKILL)

            let started = ContinuousClock.now
            let reply = try await stack.spawn()
            let took = ContinuousClock.now - started
            print("a spawn right after every manager was killed answered \(reply.status) after \(took) (lease 5 s, SPAWN_TIMEOUT 30 s)")
            #expect(reply.status == 503, "\(reply.text)")
            #expect((try? reply.json() as? [String: [String: String]])?["error"]?["code"] == "no_manager")
            #expect(reply.headers["retry-after"] != nil)
            #expect(took < .seconds(10))
            #expect(try await rowCount(stack) == "1", "the refused spawn left a row")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func spawnsAndDeletesAnswerInTimeWhileTheDatabaseHangs() async throws {
        guard let directory = ProcessInfo.processInfo.environment["AGENTPOOL_TEST_PGBOUNCER_DIR"] else {
            throw SetupError("AGENTPOOL_TEST_PGBOUNCER_DIR is not set: run the tests through scripts/test")
        }
        let pidText = try String(contentsOfFile: directory + "/pgbouncer.pid", encoding: .utf8)
        let pgbouncer = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        try await TestStack.with(name: "dbhang", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway(spawnTimeout: 3)
            let agent = try await stack.spawn().decode(AgentView.self)

            kill(pgbouncer, SIGSTOP)
            let answers: [(String, Int, Duration)]
            do {
                answers = try await withThrowingTaskGroup(of: (String, Int, Duration).self) { group in
                    for index in 0..<4 {
                        group.addTask {
                            let started = ContinuousClock.now
                            let status = index == 0
                                ? try await stack.http.send("DELETE", "/api/v1/agents/\(agent.agentID)").status
                                : try await stack.spawn().status
                            return (index == 0 ? "DELETE" : "spawn", status, ContinuousClock.now - started)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            } catch {
                kill(pgbouncer, SIGCONT)
                throw error
            }
            kill(pgbouncer, SIGCONT)
            for (what, status, took) in answers {
                print("with PgBouncer frozen, a \(what) answered \(status) after \(took) (SPAWN_TIMEOUT 3 s)")
                #expect([503, 504].contains(status), "\(what) answered \(status)")
                #expect(took <= .seconds(4), "\(what) took \(took)")
            }

            // Once the database answers again, nothing is left half-way: the DELETE ends
            // terminated, and each spawn ends running or left nothing.
            let settled = try await Poll.until("every row to settle", timeout: .seconds(60), every: .milliseconds(200)) {
                let rows = try await stack.postgres.query(
                    "SELECT status FROM agents WHERE pool_name = $1", [stack.pools[0]]).rows.compactMap { $0["status"] }
                guard rows.allSatisfy({ ["running", "terminated"].contains($0) }) else { return false }
                return try await stack.poolIsConsistent()
            }
            print("after PgBouncer resumed, every row settled in \(settled)")
            let deleted = try await stack.http.send("DELETE", "/api/v1/agents/\(agent.agentID)")
            #expect(deleted.status == 200, "\(deleted.text)")
        }
    }
}
