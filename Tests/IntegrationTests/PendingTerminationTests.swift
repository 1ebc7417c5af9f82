import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// A DELETE of an agent still waiting for a worker takes it off the leader's waiting list, so
/// that the pool stops asking for workers it no longer needs.
@Suite(.serialized) struct PendingTerminationTests {
    func desiredWorkers(_ stack: TestStack) async throws -> Int? {
        try await stack.redis.send("HGET", RedisKeys.poolState(stack.pools[0]), "desired_workers").int
    }

    @Test(.timeLimit(.minutes(3)))
    func deletingWaitingAgentsLowersDesiredWorkers() async throws {
        let yaml = "  - name: {pool}\n    role: developer\n    min_workers: 0\n    launcher: external\n"
        try await TestStack.with(name: "pendingdelete", poolYAML: yaml) { stack in
            try await stack.startManager(minimumWorkers: 0)
            try await stack.startGateway(spawnTimeout: 1)
            let replies = try await withThrowingTaskGroup(of: HTTPClient.Reply.self) { group in
                for _ in 0..<11 { group.addTask { try await stack.spawn() } }
                return try await group.reduce(into: [HTTPClient.Reply]()) { $0.append($1) }
            }
            #expect(replies.allSatisfy { $0.status == 504 })
            let ids = try await stack.postgres.query(
                "SELECT id::text AS id FROM agents WHERE pool_name = $1 AND status = 'pending'", [stack.pools[0]]
            ).rows.compactMap { $0["id"] }
            #expect(ids.count == 11)
            try await Poll.until("desired_workers to cover 11 waiting agents", timeout: .seconds(10)) {
                try await desiredWorkers(stack) == 2
            }
            for id in ids { #expect(try await stack.http.send("DELETE", "/api/v1/agents/\(id)").status == 200) }
            let lowered = try await Poll.until("desired_workers to drop to 0", timeout: .seconds(15)) {
                try await desiredWorkers(stack) == 0
            }
            print("after deleting 11 waiting agents, desired_workers dropped to 0 after \(lowered)")

            // A worker joining now starts none of them.
            let worker = try stack.startWorker(label: "late")
            defer { Task { await worker.stop() } }
            try await Task.sleep(for: .seconds(2))
            #expect(!worker.log.contains("Agent started"))
            #expect(!worker.log.contains("should no longer run"))
        }
    }
}
