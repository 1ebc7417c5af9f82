import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// A Redis that stalls for longer than `stale_after` delays every heartbeat: when it resumes,
/// the leader measures heartbeat ages on Redis' own clock and gives workers a grace of
/// `stale_after` before declaring any dead, so no live worker is lost to the stall.
@Suite(.serialized) struct RedisStallTests {
    @Test(.timeLimit(.minutes(3)))
    func aRedisStallLongerThanStaleAfterDeclaresNoWorkerDead() async throws {
        let environment = try TestEnvironment.load()
        let redis = try PrivateRedis(logDirectory: environment.logDirectory)
        try await redis.start()
        try await TestStack.with(name: "redisstall", poolYAML: "  - name: {pool}\n    role: developer\n", redisURL: redis.url) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agents = try await (0..<3).asyncMap { _ in try await stack.spawn().decode(AgentView.self) }
            let info = try await stack.redis.send("INFO", "server").string ?? ""
            let line = try #require(info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("process_id:") })
            let pid = try #require(Int32(line.dropFirst("process_id:".count)))
            let manager = try #require(stack.services.first { $0.name.contains("manager") })

            kill(pid, SIGSTOP)
            try await Task.sleep(for: .seconds(6))  // stale_after is 3 s
            kill(pid, SIGCONT)
            let resumed = ContinuousClock.now
            try await Task.sleep(for: .seconds(6))
            let healthy = try await Poll.until("every agent to run exactly once", timeout: .seconds(20)) {
                try await stack.allRunningExactlyOnce(agents.map(\.agentID))
            }
            print("after a 6 s Redis stall, agents consistent \(ContinuousClock.now - resumed) after it resumed (poll \(healthy))")
            #expect(!manager.log.contains("Declared worker dead"), "a live worker was declared dead after the stall")
            for agent in agents {
                let now = try await stack.http.get("/api/v1/agents/\(agent.agentID)").decode(AgentView.self)
                #expect(now.processID == agent.processID, "an agent moved: its worker was taken for dead")
            }
        }
        await redis.kill()
    }
}
