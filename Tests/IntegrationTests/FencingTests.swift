import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// A worker that was declared dead while it still runs (a long pause, a partition) must not
/// keep running agents that were placed again elsewhere.
@Suite(.serialized) struct FencingTests {
    @Test(.timeLimit(.minutes(3)))
    func pausedExternalWorkerDoesNotRunItsAgentsTwiceAfterResuming() async throws {
        let yaml = "  - name: {pool}\n    role: developer\n    min_workers: 0\n    launcher: external\n"
        try await TestStack.with(name: "fence", poolYAML: yaml) { stack in
            func startWorker(_ label: String) throws -> (String, ServiceProcess) {
                let processID = Identifier.make()
                return (processID, try stack.startWorker(label: label, processID: processID))
            }
            let (pausedID, paused) = try startWorker("a")
            try await stack.startManager(minimumWorkers: 1)
            try await stack.startGateway()
            var agents: [AgentView] = []
            for _ in 0..<3 { agents.append(try await stack.spawn().decode(AgentView.self)) }
            #expect(agents.allSatisfy { $0.processID == pausedID })

            let (otherID, other) = try startWorker("b")
            defer { Task { await other.stop() } }
            kill(paused.pid, SIGSTOP)
            let started = ContinuousClock.now
            let moved = try await Poll.until("the paused worker's agents to run on the other worker", timeout: .seconds(30)) {
                try await stack.allRunningExactlyOnce(agents.map(\.agentID), notOn: pausedID)
            }
            print("agents of a paused worker ran elsewhere after \(moved) (stale_after 3 s, heartbeat 0.5 s)")
            #expect(ContinuousClock.now - started < .seconds(30))

            kill(paused.pid, SIGCONT)
            try await Poll.until("the resumed worker to register afresh", timeout: .seconds(20)) {
                try await stack.redis.send("EXISTS", RedisKeys.process(pausedID)).int == 1
            }
            try await Task.sleep(for: .seconds(1))
            #expect(try await stack.redis.send("SCARD", RedisKeys.processAgents(pausedID)).int == 0)
            #expect(try await stack.allRunningExactlyOnce(agents.map(\.agentID)))
            for agent in agents {
                #expect(try await stack.redis.send("HGET", RedisKeys.agent(agent.agentID), "process_id").string == otherID)
            }
            // It noticed the pause itself (fenced off for lack of contact), or found its
            // registration gone: either way it stopped its agents before registering afresh.
            #expect(paused.log.contains("No contact with the registry for too long") || paused.log.contains("Registration gone"))
            await paused.stop()
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func workersIgnoreCommandsFromAnOlderLeadership() async throws {
        try await TestStack.with(name: "epoch", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let pool = stack.pools[0]
            let agent = try await stack.spawn().decode(AgentView.self)
            let processID = try #require(agent.processID)
            let epoch = try #require(try await stack.redis.send("GET", RedisKeys.poolEpoch(pool)).int)

            // A deposed leader (an older epoch) tells the worker to stop the agent, on the pool's
            // channel (which workers still obey): ignored.
            let stale = MessageCodec.encode(.stopAgent(StopAgent(targetProcessID: processID, epoch: epoch - 1, agentID: agent.agentID)))
            _ = try await stack.redis.send(bytes: [Array("PUBLISH".utf8), Array(RedisKeys.poolCommands(pool).utf8), stale])
            try await Task.sleep(for: .seconds(1))
            #expect(try await stack.allRunningExactlyOnce([agent.agentID]))

            // The same command from the current leadership is obeyed, on the worker's own channel.
            let current = MessageCodec.encode(.stopAgent(StopAgent(targetProcessID: processID, epoch: epoch, agentID: agent.agentID)))
            _ = try await stack.redis.send(bytes: [Array("PUBLISH".utf8), Array(RedisKeys.processCommands(processID).utf8), current])
            try await Poll.until("the current leadership's stop to take effect", timeout: .seconds(10)) {
                try await stack.redis.send("EXISTS", RedisKeys.agent(agent.agentID)).int == 0
            }
        }
    }
}
