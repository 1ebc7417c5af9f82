import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// A stop whose worker died, or froze past `stale_after`, ends `terminated`: the row, the
/// registry and a waiting DELETE all say so, without a second DELETE.
@Suite(.serialized) struct StopOnDeadWorkerTests {
    func status(_ stack: TestStack, _ agentID: String) async throws -> String? {
        try await stack.postgres.query("SELECT status FROM agents WHERE id = $1::uuid", [agentID]).rows.first?["status"]
    }

    @Test(.timeLimit(.minutes(3)))
    func deletesOfAgentsOnAFrozenAndAKilledWorkerEndTerminated() async throws {
        let yaml = "  - name: {pool}\n    role: developer\n    min_workers: 0\n    launcher: external\n"
        try await TestStack.with(name: "stopdead", poolYAML: yaml) { stack in
            let frozenID = Identifier.make(), killedID = Identifier.make()
            let frozen = try stack.startWorker(label: "frozen", processID: frozenID)
            try await stack.startManager(minimumWorkers: 1)
            try await stack.startGateway(spawnTimeout: 20)
            let onFrozen = try await stack.spawn().decode(AgentView.self)
            let killed = try stack.startWorker(label: "killed", processID: killedID)
            try await Poll.until("the second worker to register") {
                try await stack.redis.send("EXISTS", RedisKeys.process(killedID)).int == 1
            }
            let onKilled = try await stack.spawn().decode(AgentView.self)  // the emptiest worker
            #expect(onFrozen.processID == frozenID)
            #expect(onKilled.processID == killedID)
            let survivor = try stack.startWorker(label: "survivor")
            defer { Task { await survivor.stop() } }

            kill(frozen.pid, SIGSTOP)
            kill(killed.pid, SIGKILL)
            let started = ContinuousClock.now
            async let deleteFrozen = stack.http.send("DELETE", "/api/v1/agents/\(onFrozen.agentID)")
            async let deleteKilled = stack.http.send("DELETE", "/api/v1/agents/\(onKilled.agentID)")
            let (frozenReply, killedReply) = try await (deleteFrozen, deleteKilled)
            print("DELETE on a frozen worker answered \(frozenReply.status), on a killed one \(killedReply.status), after \(ContinuousClock.now - started) (stale_after 3 s)")
            #expect(frozenReply.status == 200, "\(frozenReply.text)")
            #expect(killedReply.status == 200, "\(killedReply.text)")
            for agent in [onFrozen, onKilled] {
                let ended = try await Poll.until("\(agent.agentID) to be terminated", timeout: .seconds(20)) {
                    try await status(stack, agent.agentID) == "terminated"
                }
                print("row of \(agent.agentID.prefix(8)) terminated (poll \(ended))")
                // Its task stream goes with the leader's next upkeep pass when its worker is gone.
                try await Poll.until("\(agent.agentID) to be gone from Redis", timeout: .seconds(15)) {
                    try await stack.keysMentioning(agent.agentID).isEmpty
                }
            }
            kill(frozen.pid, SIGKILL)
            kill(frozen.pid, SIGCONT)
        }
    }
}
