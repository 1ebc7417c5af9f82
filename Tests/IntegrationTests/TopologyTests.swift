import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// The container topology (deploy/docker-compose.yml) as plain processes on loopback:
/// several gateways, two managers for one pool, workers started by an orchestrator
/// (`launcher: external`).
@Suite(.serialized) struct TopologyTests {
    static let externalPool = "  - name: {pool}\n    role: developer\n    launcher: external\n"

    @Test(.timeLimit(.minutes(3)))
    func twoGatewaysTwoManagersExternalWorkersLoseNothing() async throws {
        try await TestStack.with(name: "topology", poolYAML: Self.externalPool) { stack in
            let workers = try (0..<2).map { try stack.startWorker(label: "\($0)") }
            try await stack.startManager(label: "manager-a", minimumWorkers: 2)
            try await stack.startManager(label: "manager-b", minimumWorkers: 2)
            try await stack.startGateway()
            let first = stack.http
            try await stack.startGateway()
            let second = stack.http

            var agents: [AgentView] = []
            for index in 0..<6 {
                let client = index.isMultiple(of: 2) ? first : second
                let reply = try await client.send("POST", "/api/v1/agents/pools/\(stack.pools[0])/agents")
                #expect(reply.status == 201, "\(reply.text)")
                agents.append(try reply.decode(AgentView.self))
            }
            #expect(Set(agents.compactMap(\.processID)).count == 2, "placement picks the emptiest worker, so both take agents")

            // Kill one gateway: the other serves everything, including agents the first created.
            let firstGateway = try #require(stack.services.first { $0.name.contains("gateway") })
            kill(firstGateway.pid, SIGKILL)
            for agent in agents {
                #expect(try await second.get("/api/v1/agents/\(agent.agentID)").decode(AgentView.self).status == .running)
            }
            // Kill the leading manager: the standby takes over; nothing is lost.
            let leader = try #require(stack.services.first { $0.name.contains("manager") && $0.log.contains("Leading pool") })
            kill(leader.pid, SIGKILL)
            let started = ContinuousClock.now
            var reply = try await second.send("POST", "/api/v1/agents/pools/\(stack.pools[0])/agents")
            while reply.status != 201, ContinuousClock.now - started < .seconds(20) {
                try await Task.sleep(for: .milliseconds(200))
                reply = try await second.send("POST", "/api/v1/agents/pools/\(stack.pools[0])/agents")
            }
            print("after killing a gateway and the leading manager, spawns worked again after \(ContinuousClock.now - started)")
            #expect(reply.status == 201)
            #expect(try await stack.poolIsConsistent())
            #expect(try await stack.workerPIDs(stack.pools[0]).count == 2, "external workers are never launched by a manager")
            withExtendedLifetime(workers) {}
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func desiredWorkersRisesWhenFullAndFallsBack() async throws {
        let defaults = """
              max_agents_per_process: 2
              heartbeat_interval: 0.5
              stale_after: 3
              min_workers: 1
              max_workers: 5
              idle_timeout: 600
            """
        try await TestStack.with(name: "desired", poolYAML: Self.externalPool, defaults: defaults) { stack in
            let firstWorker = try stack.startWorker(label: "first")
            try await stack.startManager(minimumWorkers: 1)
            try await stack.startGateway(spawnTimeout: 30)
            func desired() async throws -> Int? { try await stack.poolStats()["desired_workers"] as? Int }

            var agents: [AgentView] = []
            for _ in 0..<2 { agents.append(try await stack.spawn().decode(AgentView.self)) }
            try await Poll.until("desired_workers to be 1 with the only worker full") { try await desired() == 1 }

            // A third spawn finds no slot and the manager may not launch: the pool asks for more.
            let waiting = Task { try await stack.spawn() }
            let rose = try await Poll.until("desired_workers to rise to 2") { try await desired() == 2 }
            print("desired_workers rose to 2 after \(rose)")
            let secondWorker = try stack.startWorker(label: "second")
            let reply = try await waiting.value
            #expect(reply.status == 201, "\(reply.text)")
            agents.append(try reply.decode(AgentView.self))

            for agent in agents.prefix(2) {
                #expect(try await stack.http.send("DELETE", "/api/v1/agents/\(agent.agentID)").status == 200)
            }
            let fell = try await Poll.until("desired_workers to fall back to 1") { try await desired() == 1 }
            print("desired_workers fell back to 1 after \(fell)")
            withExtendedLifetime((firstWorker, secondWorker)) {}
        }
    }
}
