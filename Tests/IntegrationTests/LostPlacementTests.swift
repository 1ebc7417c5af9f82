import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// Defence in depth for a registry that lost an agent's placement (an emptied Redis, or a bug
/// like the reconcile race the cold-burst benchmark found): a DELETE still ends at once, and
/// a worker never keeps running an agent the registry no longer attributes to it.
@Suite(.serialized) struct LostPlacementTests {
    /// Removes what the registry knows of `agentID`'s placement, as the reconcile race did.
    func dropPlacement(_ stack: TestStack, _ agentID: String, fromWorker processID: String? = nil) async throws {
        _ = try await stack.redis.send("DEL", RedisKeys.agent(agentID))
        _ = try await stack.redis.send("SREM", RedisKeys.poolAgents(stack.pools[0]), agentID)
        if let processID { _ = try await stack.redis.send("SREM", RedisKeys.processAgents(processID), agentID) }
    }

    func status(_ stack: TestStack, _ agentID: String) async throws -> String? {
        try await stack.postgres.query("SELECT status FROM agents WHERE id = $1::uuid", [agentID]).rows.first?["status"]
    }

    @Test(.timeLimit(.minutes(3)))
    func deleteReachesTheWorkerTheRowNamesWhenThePlacementIsLost() async throws {
        try await TestStack.with(name: "lostdelete", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway(spawnTimeout: 10)
            let agent = try await stack.spawn().decode(AgentView.self)
            let processID = try #require(agent.processID)
            try await dropPlacement(stack, agent.agentID)

            let started = ContinuousClock.now
            let reply = try await stack.http.send("DELETE", "/api/v1/agents/\(agent.agentID)")
            print("DELETE of an agent whose placement was lost answered \(reply.status) after \(ContinuousClock.now - started)")
            #expect(reply.status == 200, "\(reply.text)")
            #expect(try await status(stack, agent.agentID) == "terminated")
            #expect(try await stack.redis.send("SISMEMBER", RedisKeys.processAgents(processID), agent.agentID).int == 0)
            #expect(try await stack.poolIsConsistent())
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func repeatedDeleteEndsAtOnceWhenTheAgentsWorkerIsGone() async throws {
        let yaml = "  - name: {pool}\n    role: developer\n    min_workers: 0\n    launcher: external\n"
        try await TestStack.with(name: "goneworker", poolYAML: yaml) { stack in
            let processID = Identifier.make()
            let worker = try stack.startWorker(label: "frozen", processID: processID)
            try await stack.startManager(minimumWorkers: 1)
            try await stack.startGateway(spawnTimeout: 2)
            let agent = try await stack.spawn().decode(AgentView.self)
            #expect(agent.processID == processID)

            // The worker freezes before it can stop the agent; the manager declares it dead.
            kill(worker.pid, SIGSTOP)
            #expect(try await stack.http.send("DELETE", "/api/v1/agents/\(agent.agentID)").status == 504)
            try await Poll.until("the frozen worker to be declared dead", timeout: .seconds(30)) {
                try await stack.redis.send("EXISTS", RedisKeys.process(processID)).int == 0
            }
            kill(worker.pid, SIGKILL)
            // Healing the dead worker ends the stop it can no longer carry out.
            try await Poll.until("the stop of the dead worker's agent to end", timeout: .seconds(10)) {
                try await status(stack, agent.agentID) == "terminated"
            }

            let started = ContinuousClock.now
            let reply = try await stack.http.send("DELETE", "/api/v1/agents/\(agent.agentID)")
            print("repeated DELETE after the agent's worker died answered \(reply.status) after \(ContinuousClock.now - started)")
            #expect(reply.status == 200, "\(reply.text)")
            #expect(try await status(stack, agent.agentID) == "terminated")
            #expect(try await stack.keysMentioning(agent.agentID).isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func workerStopsAnAgentTheRegistryDroppedAndItRunsOnceAgain() async throws {
        try await TestStack.with(name: "ghost", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agents = try await (0..<3).asyncMap { _ in try await stack.spawn().decode(AgentView.self) }
            let ghost = agents[1]
            let host: String = try #require(ghost.processID)
            try await dropPlacement(stack, ghost.agentID, fromWorker: host)

            let waited = try await Poll.until("the dropped agent to be stopped and placed again", timeout: .seconds(30)) {
                guard stack.services.map(\.log).joined().contains("Stopped an agent the registry no longer attributes to this worker")
                else { return false }
                return try await stack.allRunningExactlyOnce(agents.map(\.agentID))
            }
            print("an agent dropped from the registry ran exactly once again after \(waited)")
            #expect(try await stack.poolIsConsistent())
            for agent in agents {
                #expect(try await stack.http.get("/api/v1/agents/\(agent.agentID)").decode(AgentView.self).status == .running)
            }
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func anAgentTheRegistryDroppedDoesNotKeepItsWorkerFromRetiring() async throws {
        let defaults = """
              max_agents_per_process: 1
              heartbeat_interval: 0.5
              stale_after: 3
              min_workers: 1
              max_workers: 3
              idle_timeout: 1
            """
        try await TestStack.with(name: "ghostretire", poolYAML: "  - name: {pool}\n    role: developer\n", defaults: defaults) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let kept = try await stack.spawn().decode(AgentView.self)
            let ghost = try await stack.spawn().decode(AgentView.self)
            let ghostWorker = try #require(ghost.processID)
            #expect(kept.processID != ghostWorker)
            let pid = try #require(try await stack.workerPIDs(stack.pools[0])[ghostWorker])

            // The pool forgets the agent entirely, behind its worker's back: that worker now looks
            // empty to the manager, which retires it after idle_timeout.
            try await dropPlacement(stack, ghost.agentID, fromWorker: ghostWorker)
            _ = try await stack.postgres.query(
                "UPDATE agents SET desired_state = 'terminated', status = 'terminated', process_id = NULL WHERE id = $1::uuid",
                [ghost.agentID])
            let waited = try await Poll.until("the worker of the dropped agent to retire", timeout: .seconds(30)) {
                try await stack.redis.send("EXISTS", RedisKeys.process(ghostWorker)).int == 0
            }
            print("a worker whose only agent the registry dropped retired after \(waited) (idle_timeout 1 s)")
            try await Poll.until("the retired worker's process to exit", timeout: .seconds(10)) { !ProcessState.isRunning(pid) }
            #expect(stack.services.map(\.log).joined().contains("Stopped an agent the registry no longer attributes to this worker"))
            #expect(try await stack.allRunningExactlyOnce([kept.agentID]))
            #expect(try await stack.poolIsConsistent())
        }
    }
}

extension Sequence {
    /// `map` with an async transform, one element after the other.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
