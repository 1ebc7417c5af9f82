import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// Manager and worker failures on real processes: after each, every agent that should run
/// runs exactly once, no registry key points at a dead process, and PostgreSQL agrees.
@Suite(.serialized) struct FailoverTests {
    @Test(.timeLimit(.minutes(3)))
    func killedWorkerChildIsHealedAtOnce() async throws {
        try await TestStack.with(name: "killworker", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway()
            var agents: [AgentView] = []
            for _ in 0..<5 { agents.append(try await stack.spawn().decode(AgentView.self)) }
            let (victim, pid) = try #require(try await stack.workerPIDs(stack.pools[0]).first)
            kill(pid, SIGKILL)
            let recovered = try await Poll.until("every agent to run again elsewhere", timeout: .seconds(20)) {
                try await stack.allRunningExactlyOnce(agents.map(\.agentID), notOn: victim)
            }
            print("all 5 agents of a kill -9ed worker ran again after \(recovered) (manager's own child: noticed at exit)")
            #expect(try await stack.keysMentioning(victim).isEmpty)
            for agent in agents {
                let now = try await stack.http.get("/api/v1/agents/\(agent.agentID)").decode(AgentView.self)
                #expect(now.name == agent.name)
                #expect(now.metadata == agent.metadata)
            }
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func standbyManagerTakesOverWhenTheLeaderIsKilled() async throws {
        try await TestStack.with(name: "standby", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager(label: "manager-a")
            try await stack.startManager(label: "manager-b")
            try await stack.startGateway()
            let pool = stack.pools[0]
            let first = try await stack.spawn().decode(AgentView.self)
            let leader = try #require(stack.services.first { $0.name.hasSuffix("manager-a") && $0.log.contains("Leading pool") }
                ?? stack.services.first { $0.name.hasSuffix("manager-b") && $0.log.contains("Leading pool") })
            let epochBefore = try await stack.redis.send("GET", RedisKeys.poolEpoch(pool)).int ?? 0
            kill(leader.pid, SIGKILL)
            let started = ContinuousClock.now

            // Spawns keep working meanwhile: while the dead leader's lease lasts and the standby
            // listens, the gateway places on a free slot itself; the standby then takes over.
            var reply = try await stack.spawn()
            while reply.status == 503, ContinuousClock.now - started < .seconds(20) {
                try await Task.sleep(for: .milliseconds(200))
                reply = try await stack.spawn()
            }
            print("after killing the leading manager, a spawn succeeded again after \(ContinuousClock.now - started)")
            #expect(reply.status == 201)
            let tookOver = try await Poll.until("the standby to lead with a higher epoch", timeout: .seconds(20)) {
                try await stack.redis.send("GET", RedisKeys.poolEpoch(pool)).int ?? 0 > epochBefore
            }
            print("the standby led after \(ContinuousClock.now - started) (\(tookOver) of polling)")
            let afterTakeover = try await stack.spawn()
            #expect(afterTakeover.status == 201, "\(afterTakeover.text)")
            // The workers outlived their manager and were adopted; nothing was lost.
            let second = try reply.decode(AgentView.self)
            let third = try afterTakeover.decode(AgentView.self)
            #expect(try await stack.allRunningExactlyOnce([first.agentID, second.agentID, third.agentID]))
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func everythingRestartsOnTheSameDatabaseAndRestoresAgents() async throws {
        try await TestStack.with(name: "restore", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let pool = stack.pools[0]
            var agents: [AgentView] = []
            for index in 0..<6 { agents.append(try await stack.spawn(body: #"{"name":"keep-\#(index)"}"#).decode(AgentView.self)) }
            let gone = agents.removeLast()
            #expect(try await stack.http.send("DELETE", "/api/v1/agents/\(gone.agentID)").status == 200)

            // Stop everything: gateway, manager, and (like a host reboot) every worker, hard.
            for service in stack.services { await service.stop() }
            for pid in try await stack.workerPIDs(pool).values { kill(pid, SIGKILL) }
            let keys = try await stack.redis.send("KEYS", "*").array?.compactMap(\.string) ?? []
            let stale = keys.filter { key in agents.contains { key.contains($0.agentID) } || key.hasPrefix("pool:\(pool):") }
            if !stale.isEmpty { _ = try await stack.redis.send(["DEL"] + stale) }

            try await stack.startManager(label: "manager-again")
            try await stack.startGateway()
            let restored = try await Poll.until("every agent to be restored", timeout: .seconds(30)) {
                try await stack.allRunningExactlyOnce(agents.map(\.agentID))
            }
            print("restore placed \(agents.count) agents again after \(restored)")
            let terminated = try await stack.http.get("/api/v1/agents/\(gone.agentID)").decode(AgentView.self)
            #expect(terminated.status == .terminated)
            #expect(try await stack.keysMentioning(gone.agentID).isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func gracefullyStoppedWorkerHandsItsAgentsOver() async throws {
        try await TestStack.with(name: "drain", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager()
            try await stack.startGateway()
            var agents: [AgentView] = []
            for _ in 0..<3 { agents.append(try await stack.spawn().decode(AgentView.self)) }
            let (victim, pid) = try #require(try await stack.workerPIDs(stack.pools[0]).first)
            let started = ContinuousClock.now
            kill(pid, SIGTERM)
            try await Poll.until("the worker to exit", timeout: .seconds(20)) { !ProcessState.isRunning(pid) }
            print("SIGTERMed worker exited after \(ContinuousClock.now - started)")
            let moved = try await Poll.until("its agents to run elsewhere", timeout: .seconds(20)) {
                try await stack.allRunningExactlyOnce(agents.map(\.agentID), notOn: victim)
            }
            print("its agents ran elsewhere after \(moved)")
            #expect(try await stack.keysMentioning(victim).isEmpty)
        }
    }
}
