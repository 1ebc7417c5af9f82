import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// A leader paused past its lease (SIGSTOP) finds, when it resumes, that another manager leads:
/// every registry script and database write it tries is refused by the fence, so it changes
/// nothing and steps down.
@Suite(.serialized) struct DeposedLeaderTests {
    @Test(.timeLimit(.minutes(3)))
    func aLeaderPausedPastItsLeaseChangesNothingWhenItResumes() async throws {
        try await TestStack.with(name: "deposed", poolYAML: "  - name: {pool}\n    role: developer\n") { stack in
            let pool = stack.pools[0]
            try await stack.startManager(label: "manager-a")
            try await stack.startManager(label: "manager-b")
            try await stack.startGateway(spawnTimeout: 20)
            _ = try await stack.spawn().decode(AgentView.self)
            let old = try #require(stack.services.first { $0.name.contains("manager") && $0.log.contains("Leading pool") })
            let oldEpoch = try #require(try await stack.redis.send("GET", RedisKeys.poolEpoch(pool)).int)

            kill(old.pid, SIGSTOP)
            let paused = ContinuousClock.now
            try await Poll.until("the standby to take over", timeout: .seconds(20)) {
                try await stack.redis.send("GET", RedisKeys.poolEpoch(pool)).int ?? 0 > oldEpoch
            }
            let newEpoch = try #require(try await stack.redis.send("GET", RedisKeys.poolEpoch(pool)).int)
            print("the standby took over (epoch \(oldEpoch) → \(newEpoch)) \(ContinuousClock.now - paused) after the leader froze")
            // Work the frozen leader will find in its socket when it resumes: spawns, placed by
            // the new leader meanwhile.
            let spawned = try await (0..<4).asyncMap { _ in try await stack.spawn().decode(AgentView.self) }
            try await Task.sleep(for: .seconds(1))
            let logBefore = old.log.count

            kill(old.pid, SIGCONT)
            let resumed = ContinuousClock.now
            var epochs: Set<String> = []
            while ContinuousClock.now - resumed < .seconds(4) {
                if let epoch = try await stack.redis.send("HGET", RedisKeys.poolState(pool), "epoch").string { epochs.insert(epoch) }
                try await Task.sleep(for: .milliseconds(20))
            }
            let after = String(old.log.dropFirst(logBefore))
            print("the resumed leader's log:\n\(after.split(separator: "\n").map { "  | " + $0.prefix(160) }.joined(separator: "\n"))")
            print("epochs seen in pool:<p>:state after it resumed: \(epochs.sorted())")
            #expect(epochs == [String(newEpoch)])
            for action in ["Placed agent", "Declared worker dead", "Reconcile repairs", "Refused spawns", "Retiring idle worker"] {
                #expect(!after.contains(action), "the deposed leader acted: \(action)")
            }
            #expect(after.contains("Leadership ended"))
            #expect(try await stack.allRunningExactlyOnce(spawned.map(\.agentID)))
            #expect(try await stack.redis.send("GET", RedisKeys.poolEpoch(pool)).int == newEpoch)
        }
    }
}
