import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// A refusal for capacity may delete only the row of the spawn request it refuses: an agent
/// that was confirmed running and is being placed again (its worker died) stays, visibly
/// `pending`, until a worker has room for it.
@Suite(.serialized) struct RefusalKeepsConfirmedAgentsTests {
    @Test(.timeLimit(.minutes(3)))
    func anAgentWhoseWorkerDiedSurvivesFailedLaunches() async throws {
        // The manager can launch nothing (`/bin/false` exits at once); one worker joins from outside.
        let yaml = "  - name: {pool}\n    role: developer\n    min_workers: 0\n    worker_path: /bin/false\n"
        try await TestStack.with(name: "keepconfirmed", poolYAML: yaml) { stack in
            let worker = try stack.startWorker(label: "external")
            try await stack.startManager(minimumWorkers: 1)
            try await stack.startGateway(spawnTimeout: 5)
            let agent = try await stack.spawn().decode(AgentView.self)
            #expect(agent.status == .running)

            kill(worker.pid, SIGKILL)
            let killed = ContinuousClock.now
            // Healing (after stale_after, 3 s) marks it pending; every launch fails; it must stay.
            var statuses: [String] = []
            while ContinuousClock.now - killed < .seconds(12) {
                let reply = try await stack.http.get("/api/v1/agents/\(agent.agentID)")
                #expect(reply.status == 200, "the confirmed agent was deleted \(ContinuousClock.now - killed) after its worker died")
                guard reply.status == 200 else { break }
                let status = try reply.decode(AgentView.self).status.rawValue
                if statuses.last != status { statuses.append(status) }
                try await Task.sleep(for: .milliseconds(200))
            }
            print("statuses of the agent after its worker died, over 12 s of failing launches: \(statuses)")
            #expect(statuses.last == "pending")
            #expect(stack.services.map(\.log).joined().contains("Worker exited before registering"))

            // A fresh spawn meanwhile is refused (nothing can host it) and leaves nothing behind.
            let refused = try await stack.spawn()
            print("a fresh spawn while no worker can start answered \(refused.status)")
            #expect(refused.status == 503, "\(refused.text)")
            let rows = try await stack.postgres.query("SELECT count(*) AS n FROM agents WHERE pool_name = $1", [stack.pools[0]])
            #expect(rows.rows.first?["n"] == "1")

            // Capacity comes back: the kept agent runs again, same id.
            let replacement = try stack.startWorker(label: "replacement")
            defer { Task { await replacement.stop() } }
            let back = try await Poll.until("the kept agent to run again", timeout: .seconds(30)) {
                try await stack.allRunningExactlyOnce([agent.agentID])
            }
            print("the kept agent ran again \(back) after a worker joined")
        }
    }
}
