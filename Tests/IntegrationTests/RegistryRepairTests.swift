import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// A partial loss of the registry heals within a reconcile pass or two: a placement counts only
/// when `agent:<id>` names a live worker whose `process:<id>:agents` lists the agent; either
/// half alone is repaired, never by running the agent a second time.
@Suite(.serialized) struct RegistryRepairTests {
    @Test(.timeLimit(.minutes(3)))
    func anAgentDroppedFromItsWorkersSetRunsAgain() async throws {
        try await TestStack.with(name: "repairset", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agents = try await (0..<2).asyncMap { _ in try await stack.spawn().decode(AgentView.self) }
            let lost = agents[0]
            let host = try #require(lost.processID)
            // Only the set entry goes: agent:<id> still names the worker.
            _ = try await stack.redis.send("SREM", RedisKeys.processAgents(host), lost.agentID)

            let healed = try await Poll.until("the agent to run exactly once again", timeout: .seconds(30)) {
                try await stack.allRunningExactlyOnce(agents.map(\.agentID))
            }
            print("an agent dropped from process:<id>:agents ran exactly once again after \(healed)")
            #expect(try await stack.poolIsConsistent())
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func anAgentWhoseHashIsLostIsNotStartedASecondTime() async throws {
        let yaml = "  - name: {pool}\n    role: developer\n    min_workers: 2\n"
        try await TestStack.with(name: "repairhash", poolYAML: yaml) { stack in
            try await stack.startManager(minimumWorkers: 2)
            try await stack.startGateway()
            let agent = try await stack.spawn().decode(AgentView.self)
            let host = try #require(agent.processID)
            // The hash and the pool's set go; the worker's own set still lists the agent it runs.
            _ = try await stack.redis.send("DEL", RedisKeys.agent(agent.agentID))
            _ = try await stack.redis.send("SREM", RedisKeys.poolAgents(stack.pools[0]), agent.agentID)

            let restored = try await Poll.until("agent:<id> to name its worker again", timeout: .seconds(20)) {
                try await stack.redis.send("HGET", RedisKeys.agent(agent.agentID), "process_id").string == host
            }
            print("the lost agent:<id> was restored after \(restored)")
            // A few more passes: it must stay on its worker, listed by that worker only.
            let watchStarted = ContinuousClock.now
            while ContinuousClock.now - watchStarted < .seconds(4) {
                #expect(try await stack.allRunningExactlyOnce([agent.agentID]), "the agent runs twice or nowhere")
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(try await stack.redis.send("HGET", RedisKeys.agent(agent.agentID), "process_id").string == host)
            #expect(try await stack.poolIsConsistent())
        }
    }
}
