import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// The worker's `running` record is committed without waiting for the WAL (observed state), so
/// a PostgreSQL crash may lose it while the agent keeps running. Reconcile repairs that: the
/// leader asks the agent's worker to record it again, and the agent is neither restarted nor
/// started a second time elsewhere. The loss is made exactly as such a crash leaves the row
/// (status back to `pending`, no worker, never confirmed), together with a DELETE of another
/// agent whose record was lost the same way, which must end terminated and stay so.
@Suite(.serialized) struct LostRunningRecordTests {
    @Test(.timeLimit(.minutes(3)))
    func aLostRunningRecordIsWrittenAgainByTheAgentsWorker() async throws {
        try await TestStack.with(name: "lostrunning", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let kept = try await stack.spawn().decode(AgentView.self)
            let deleted = try await stack.spawn().decode(AgentView.self)
            let host = try #require(kept.processID)
            let startedAt = try await stack.redis.send("HGET", RedisKeys.agent(kept.agentID), "started_at").string

            let lost = try await stack.postgres.query(
                """
                UPDATE agents SET status = 'pending', process_id = NULL, first_running_at = NULL
                WHERE id = ANY($1::uuid[]) RETURNING id
                """, ["{\(kept.agentID),\(deleted.agentID)}"])
            #expect(lost.rows.count == 2)
            let terminated = try await stack.http.send("DELETE", "/api/v1/agents/\(deleted.agentID)")
            #expect(terminated.status == 200)

            let repaired = try await Poll.until("the kept agent's row to say running on its worker again", timeout: .seconds(30)) {
                let view = try await stack.http.get("/api/v1/agents/\(kept.agentID)").decode(AgentView.self)
                return view.status == .running && view.processID == host
            }
            print("a lost running record was written again after \(repaired)")
            let row = try #require(try await stack.postgres.query(
                "SELECT first_running_at IS NOT NULL AS confirmed FROM agents WHERE id = $1::uuid", [kept.agentID]).rows.first)
            #expect(row["confirmed"] == "t", "the repaired row remembers that the agent ran")
            // The same instance on the same worker: a restart or a second placement would
            // write a new started_at or another process id.
            #expect(try await stack.redis.send("HGET", RedisKeys.agent(kept.agentID), "started_at").string == startedAt)
            #expect(try await stack.allRunningExactlyOnce([kept.agentID]))
            let gone = try await Poll.until("the deleted agent to be terminated", timeout: .seconds(30)) {
                try await stack.http.get("/api/v1/agents/\(deleted.agentID)").decode(AgentView.self).status == .terminated
            }
            print("the agent deleted while its record was lost was terminated after \(gone)")
            // A few more passes: the terminated one is not revived by the repair.
            try await Task.sleep(for: .seconds(3))
            #expect(try await stack.http.get("/api/v1/agents/\(deleted.agentID)").decode(AgentView.self).status == .terminated)
            #expect(try await stack.keysMentioning(deleted.agentID).isEmpty)
            #expect(try await stack.poolIsConsistent())
        }
    }
}
