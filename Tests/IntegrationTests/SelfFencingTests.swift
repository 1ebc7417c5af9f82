import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// A worker cut off from Redis, while the manager still reaches it, must stop its agents before
/// the manager declares it dead and places them elsewhere: otherwise they run twice for as long
/// as the cut lasts. When Redis answers it again, it registers afresh and takes agents again.
@Suite(.serialized) struct SelfFencingTests {
    @Test(.timeLimit(.minutes(3)))
    func aWorkerCutOffFromRedisStopsItsAgentsBeforeTheyArePlacedElsewhere() async throws {
        let yaml = "  - name: {pool}\n    role: developer\n    min_workers: 0\n    launcher: external\n"
        try await TestStack.with(name: "selffence", poolYAML: yaml) { stack in
            let redisPort = try #require(URLComponents(string: stack.environment.redisURL)?.port)
            let proxy = try await TCPProxy(to: redisPort, logDirectory: stack.environment.logDirectory)
            let proxiedURL = stack.environment.redisURL.replacingOccurrences(of: ":\(redisPort)/", with: ":\(proxy.port)/")
            let metricsPort = try Loopback.freePort()
            let cutOffID = Identifier.make()
            let cutOff = try stack.startWorker(
                label: "cutoff", processID: cutOffID, arguments: ["--metrics-port", String(metricsPort)],
                environment: ["REDIS_URL": proxiedURL])
            try await stack.startManager(minimumWorkers: 1)
            try await stack.startGateway()
            let agent = try await stack.spawn().decode(AgentView.self)
            #expect(agent.processID == cutOffID)
            let other = try stack.startWorker(label: "other")

            let hosted = HTTPClient(baseURL: "http://127.0.0.1:\(metricsPort)")
            func hostsAgents() async throws -> Bool {
                let samples = try #require(MetricsTests.parse(try await hosted.get("/metrics").text))
                return MetricsTests.total(samples, "agentpool_worker_hosted_agents") > 0
            }
            #expect(try await hostsAgents())

            proxy.cut()
            let cutAt = ContinuousClock.now
            // Both watched at once: the cut-off worker must stop the agent first.
            async let stopped = Poll.until("the cut-off worker to stop its agent", timeout: .seconds(30)) { !(try await hostsAgents()) }
            async let movedAway = Poll.until("the agent to run on another worker", timeout: .seconds(30)) {
                let row = try await stack.postgres.query(
                    "SELECT process_id::text AS process_id, status FROM agents WHERE id = $1::uuid", [agent.agentID]).rows.first
                return row?["status"] == "running" && row?["process_id"] != nil && row?["process_id"] != cutOffID
            }
            let (stoppedAfter, movedAfter) = try await (stopped, movedAway)
            print("cut off from Redis: the worker stopped its agent after \(stoppedAfter), the agent ran elsewhere after \(movedAfter) (stale_after 3 s)")
            #expect(stoppedAfter < movedAfter, "the agent ran on two workers at once")
            #expect(cutOff.isRunning)

            proxy.restore()
            let rejoined = try await Poll.until("the cut-off worker to register afresh", timeout: .seconds(30)) {
                try await stack.redis.send("HGET", RedisKeys.process(cutOffID), "status").string == "ready"
            }
            print("after the cut ended (\(ContinuousClock.now - cutAt) after it began) the worker registered afresh in \(rejoined)")
            try await Poll.until("the pool to be consistent", timeout: .seconds(30)) { try await stack.poolIsConsistent() }
            #expect(try await stack.allRunningExactlyOnce([agent.agentID], notOn: cutOffID))
            // It takes agents again.
            let next = try await stack.spawn()
            #expect(next.status == 201, "\(next.text)")
            withExtendedLifetime(other) {}
            await proxy.stop()
        }
    }
}
