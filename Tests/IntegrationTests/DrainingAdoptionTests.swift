import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// A leader adopts the workers it finds `draining` (left so by a previous leader, or by hand):
/// an empty one is told again to retire; one that keeps agents and does not leave is healed.
@Suite(.serialized) struct DrainingAdoptionTests {
    /// What `beginRetirement` leaves behind when its leader dies before sending `retire_worker`.
    func markDraining(_ stack: TestStack, _ processID: String) async throws {
        _ = try await stack.redis.send("HSET", RedisKeys.process(processID), "status", "draining")
        _ = try await stack.redis.send("ZADD", RedisKeys.poolProcesses(stack.pools[0]), "0", processID)
    }

    @Test(.timeLimit(.minutes(3)))
    func anEmptyDrainingWorkerIsRetired() async throws {
        let yaml = "  - name: {pool}\n    role: developer\n    min_workers: 2\n"
        try await TestStack.with(name: "adoptempty", poolYAML: yaml) { stack in
            try await stack.startManager(minimumWorkers: 2)
            let (processID, pid) = try #require(try await stack.workerPIDs(stack.pools[0]).first)
            try await markDraining(stack, processID)
            let retired = try await Poll.until("the orphaned draining worker to retire", timeout: .seconds(20)) {
                !ProcessState.isRunning(pid)
            }
            print("an empty worker left draining retired after \(retired)")
            #expect(try await stack.keysMentioning(processID).isEmpty)
            try await Poll.until("min_workers again", timeout: .seconds(20)) {
                try await stack.workerPIDs(stack.pools[0]).count == 2
            }
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aDrainingWorkerThatKeepsItsAgentsIsHealed() async throws {
        let yaml = "  - name: {pool}\n    role: developer\n    min_workers: 2\n"
        try await TestStack.with(name: "adoptbusy", poolYAML: yaml) { stack in
            try await stack.startManager(minimumWorkers: 2)
            try await stack.startGateway()
            let agent = try await stack.spawn().decode(AgentView.self)
            let host = try #require(agent.processID)
            try await markDraining(stack, host)
            // Healed after the bound (10 s here): its agent is placed again (elsewhere, or on the
            // same worker once it registered afresh); either way the worker is no longer stuck.
            let healed = try await Poll.until("the stuck draining worker to be healed", timeout: .seconds(45)) {
                guard try await stack.redis.send("HGET", RedisKeys.process(host), "status").string != "draining" else { return false }
                return try await stack.allRunningExactlyOnce([agent.agentID])
            }
            print("a worker stuck draining with an agent was healed, its agent running once again, after \(healed)")
            #expect(try await stack.poolIsConsistent())
        }
    }
}
