import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// Faults in combination, on real processes: several clients spawn and delete for about 20 s
/// while a worker is killed, another is paused past `stale_after`, the leading manager is
/// killed and started again, and Redis restarts empty. Afterwards every answer a client got
/// must be true, nothing may be stuck half-way, and the registry may hold no stale entry.
@Suite(.serialized) struct StormTests {
    static let clients = 4
    static let stormLength: Duration = .seconds(20)

    static let defaults = """
          max_agents_per_process: 4
          heartbeat_interval: 0.5
          stale_after: 3
          min_workers: 2
          max_workers: 8
          idle_timeout: 600
        """

    @Test(.timeLimit(.minutes(5)))
    func everyAnswerHoldsAfterAStormOfFaults() async throws {
        let seed = ProcessInfo.processInfo.environment["STORM_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        print("storm seed \(seed) (STORM_SEED=\(seed) replays the clients' choices)")
        let environment = try TestEnvironment.load()
        let redis = try PrivateRedis(logDirectory: environment.logDirectory)
        try await redis.start()
        try await TestStack.with(
            name: "storm", poolYAML: "  - name: {pool}\n    role: developer\n", defaults: Self.defaults, redisURL: redis.url
        ) { stack in
            try await stack.startManager(label: "manager-a", minimumWorkers: 2)
            try await stack.startManager(label: "manager-b", minimumWorkers: 2)
            try await stack.startGateway(spawnTimeout: 5)

            let ledger = StormLedger()
            let started = ContinuousClock.now
            let end = started + Self.stormLength
            async let faults = StormFaults.inject(stack, redis: redis, started: started)
            await withTaskGroup(of: Void.self) { group in
                for client in 0..<Self.clients {
                    group.addTask { await Self.runClient(client, stack: stack, ledger: ledger, seed: seed, until: end) }
                }
            }
            let injected = try await faults
            print("storm: \(ledger.all.count) requests in \(ContinuousClock.now - started): \(ledger.summary)")
            print("storm faults: \(injected.log.joined(separator: "; "))")

            let settleStarted = ContinuousClock.now
            var verdict = StormVerdict.unchecked
            do {
                try await Poll.until("every answer to hold", timeout: .seconds(90), every: .milliseconds(500)) {
                    verdict = try await StormVerdict.check(stack, ledger: ledger)
                    return verdict.holds
                }
            } catch {
                Issue.record("after 90 s: \(verdict.problems.prefix(20).joined(separator: "\n"))")
            }
            print("storm settled \(ContinuousClock.now - settleStarted) after the clients stopped: \(verdict.figures)")
            #expect(!ledger.confirmedSpawns.isEmpty, "no spawn succeeded during the storm")
            for service in stack.services where !injected.killedPIDs.contains(service.pid) {
                #expect(service.isRunning, "\(service.name) died")
            }
        }
        await redis.kill()
    }

    /// One client: spawns, and deletes agents it was given, with short random pauses.
    static func runClient(_ client: Int, stack: TestStack, ledger: StormLedger, seed: UInt64, until end: ContinuousClock.Instant) async {
        var random = SeededGenerator(seed: seed &+ UInt64(client))
        var owned: [String] = []
        while ContinuousClock.now < end {
            if !owned.isEmpty, Double.random(in: 0..<1, using: &random) < 0.4 {
                let agentID = owned.remove(at: Int.random(in: 0..<owned.count, using: &random))
                let reply = try? await stack.http.send("DELETE", "/api/v1/agents/\(agentID)")
                ledger.record(.init(
                    kind: .delete, status: reply?.status ?? 0, agentID: agentID, client: client, errorCode: reply.flatMap { errorCode(of: $0.body) }))
            } else {
                let reply = try? await stack.spawn(body: #"{"name":"storm-\#(client)-\#(owned.count)"}"#)
                let agentID = reply.flatMap { $0.status == 201 ? try? $0.decode(AgentView.self).agentID : nil }
                if let agentID { owned.append(agentID) }
                ledger.record(.init(
                    kind: .spawn, status: reply?.status ?? 0, agentID: agentID, client: client, errorCode: reply.flatMap { errorCode(of: $0.body) }))
            }
            try? await Task.sleep(for: .milliseconds(Int.random(in: 10...120, using: &random)))
        }
    }
}
