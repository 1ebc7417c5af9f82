import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// Every manager replica, standby or leader, listens on `pool:<name>:requests` for its whole
/// life, so that a PUBLISH there reaching nobody means no manager of the pool is alive.
@Suite(.serialized) struct StandbySubscriptionTests {
    func listeners(_ stack: TestStack) async throws -> Int {
        let reply = try await stack.redis.send("PUBSUB", "NUMSUB", RedisKeys.poolRequests(stack.pools[0]))
        return reply.array?.last?.int ?? -1
    }

    @Test(.timeLimit(.minutes(3)))
    func standbysListenAndASpawnAfterTheLeaderDiesSucceeds() async throws {
        try await TestStack.with(name: "standbysub", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            try await stack.startManager(label: "manager-a")
            try await stack.startManager(label: "manager-b")
            try await stack.startGateway(spawnTimeout: 20)
            try await Poll.until("both managers to subscribe", timeout: .seconds(10)) { try await listeners(stack) == 2 }
            let leader = try #require(stack.services.first { $0.name.contains("manager") && $0.log.contains("Leading pool") })
            let standby = try #require(stack.services.first { $0.name.contains("manager") && $0 !== leader })

            kill(leader.pid, SIGKILL)
            try await Poll.until("the killed leader's subscription to close", timeout: .seconds(10)) { try await listeners(stack) == 1 }
            let started = ContinuousClock.now
            let reply = try await stack.spawn()
            print("a spawn right after the leader was killed answered \(reply.status) after \(ContinuousClock.now - started) (lease 5 s)")
            #expect(reply.status == 201, "\(reply.text)")

            kill(standby.pid, SIGKILL)
            try await Poll.until("no manager to listen", timeout: .seconds(10)) { try await listeners(stack) == 0 }
            let line = MessageCodec.encode(.terminateAgent(TerminateAgent(agentID: Identifier.make())))
            let receivers = try await stack.redis.send(
                bytes: [Array("PUBLISH".utf8), Array(RedisKeys.poolRequests(stack.pools[0]).utf8), line]).int
            #expect(receivers == 0)
        }
    }
}
