import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// At least 10,000 tasks through a storm of faults, on real processes: 32 clients submit to 20
/// echo agents while a worker is killed, Redis restarts without its data, and another worker
/// is paused past `stale_after` and then resumes (its late answers must change nothing).
/// Afterwards every accepted task has exactly one recorded outcome, and none is lost.
@Suite(.serialized) struct AgentWorkStormTests {
    static let tasks = 10_000
    static let clients = 32
    static let agents = 20

    static let defaults = """
          max_agents_per_process: 10
          heartbeat_interval: 0.5
          stale_after: 3
          min_workers: 2
          max_workers: 6
          idle_timeout: 600
          max_attempts: 10
          max_queued_tasks: 1000
        """

    /// What the clients saw.
    final class Tally: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var accepted: [String: String] = [:]  // idempotency key -> task id
        private(set) var refusals: [Int: Int] = [:]
        private(set) var errors = 0
        func accept(_ key: String, _ taskID: String) { lock.withLock { accepted[key] = taskID } }
        func refuse(_ status: Int) { lock.withLock { refusals[status, default: 0] += 1 } }
        func fail() { lock.withLock { errors += 1 } }
    }

    @Test(.timeLimit(.minutes(6)))
    func everyAcceptedTaskEndsWithExactlyOneOutcomeThroughTheStorm() async throws {
        let environment = try TestEnvironment.load()
        let redis = try PrivateRedis(logDirectory: environment.logDirectory)
        try await redis.start()
        try await TestStack.with(
            name: "taskstorm", poolYAML: "  - name: {pool}\n    role: developer\n", defaults: Self.defaults, redisURL: redis.url
        ) { stack in
            try await stack.startManager(minimumWorkers: 2)
            try await stack.startGateway(spawnTimeout: 5)
            var spawned: [String] = []
            for _ in 0..<Self.agents { spawned.append(try await stack.spawnAgent()) }
            let agents = spawned

            let tally = Tally()
            let next = Counter()
            let started = ContinuousClock.now
            async let faults = Self.inject(stack, redis: redis, started: started)
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<Self.clients {
                    group.addTask {
                        while let index = next.take(below: Self.tasks) {
                            await Self.submit(index, agent: agents[index % agents.count], stack: stack, tally: tally)
                        }
                    }
                }
            }
            let log = try await faults
            let submitted = ContinuousClock.now - started
            print("task storm: \(tally.accepted.count) of \(Self.tasks) accepted in \(submitted); refusals retried: \(tally.refusals), transport errors retried: \(tally.errors)")
            print("task storm faults: \(log.joined(separator: "; "))")
            #expect(tally.accepted.count == Self.tasks)

            let pool = stack.pools[0]
            let settled = try await Poll.until("every accepted task to end", timeout: .seconds(180), every: .milliseconds(500)) {
                let rows = try await stack.postgres.query(
                    "SELECT count(*) AS n FROM tasks WHERE pool_name = $1 AND status IN ('queued', 'running')", [pool])
                return rows.rows.first?["n"] == "0"
            }
            print("task storm: every task ended \(settled) after the last submit")
            let statuses = try await stack.postgres.query(
                "SELECT status, count(*) AS n FROM tasks WHERE pool_name = $1 GROUP BY status ORDER BY status", [pool])
            let byStatus = Dictionary(uniqueKeysWithValues: statuses.rows.compactMap { row in
                row["status"].flatMap { status in row["n"].flatMap(Int.init).map { (status, $0) } }
            })
            let attempts = try await stack.postgres.query(
                "SELECT attempt, count(*) AS n FROM tasks WHERE pool_name = $1 GROUP BY attempt ORDER BY attempt", [pool])
            print("task storm outcomes: \(byStatus); attempts: \(attempts.rows.map { "\($0["attempt"] ?? "?")×\($0["n"] ?? "?")" })")
            // None lost: every accepted task is a row, and no other row exists.
            let ids = Set(tally.accepted.values)
            #expect(byStatus.values.reduce(0, +) == ids.count)
            #expect(byStatus == ["succeeded": ids.count], "echo tasks with 10 attempts all succeed")
            // Exactly one recorded outcome per task, and it is the task's status.
            let wrong = try await stack.postgres.query(
                """
                SELECT t.task_id::text AS id, t.status, count(e.id) FILTER (WHERE e.event IN ('succeeded', 'failed', 'cancelled', 'timed_out')) AS finals,
                       bool_or(e.event = t.status) AS matches
                FROM tasks t LEFT JOIN task_events e ON e.task_id = t.task_id
                WHERE t.pool_name = $1 GROUP BY t.task_id, t.status
                HAVING count(e.id) FILTER (WHERE e.event IN ('succeeded', 'failed', 'cancelled', 'timed_out')) <> 1
                    OR NOT bool_or(e.event = t.status)
                """, [pool])
            #expect(wrong.rows.isEmpty, "tasks without exactly one outcome: \(wrong.rows.prefix(5).map { "\($0["id"] ?? "") \($0["status"] ?? "") \($0["finals"] ?? "")" })")
            // Every output is its own input (no answer went to another task).
            let mismatched = try await stack.postgres.query(
                "SELECT count(*) AS n FROM tasks WHERE pool_name = $1 AND output IS DISTINCT FROM input", [pool])
            #expect(mismatched.rows.first?["n"] == "0")
        }
    }

    /// Submits task `index` until it is accepted, with its own Idempotency-Key so that a retry
    /// after a lost answer never makes a second task.
    static func submit(_ index: Int, agent: String, stack: TestStack, tally: Tally) async {
        let key = "storm-\(index)"
        while true {
            do {
                let reply = try await stack.submitTask(agent: agent, body: #"{"input":{"i":\#(index)}}"#, idempotencyKey: key)
                if [200, 202].contains(reply.status), let id = try? TestStack.field(reply, "task_id") {
                    tally.accept(key, id)
                    return
                }
                tally.refuse(reply.status)
            } catch {
                tally.fail()
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    static func inject(_ stack: TestStack, redis: PrivateRedis, started: ContinuousClock.Instant) async throws -> [String] {
        var log: [String] = []
        func at(_ seconds: Double) async throws {
            let due = started + .milliseconds(Int(seconds * 1000))
            if due > .now { try await Task.sleep(until: due) }
        }
        let pool = stack.pools[0]
        try await at(2)
        if let (processID, pid) = try await stack.workerPIDs(pool).randomElement() {
            kill(pid, SIGKILL)
            log.append("2 s: kill -9 worker \(processID.prefix(8))")
        }
        try await at(5)
        await redis.kill()
        log.append("5 s: Redis killed (no persistence)")
        try await at(6)
        try await redis.start()
        log.append("6 s: Redis started empty")
        try await at(9)
        if let (processID, pid) = try await stack.workerPIDs(pool).randomElement() {
            kill(pid, SIGSTOP)
            log.append("9 s: SIGSTOP worker \(processID.prefix(8)) for 5 s (stale_after 3 s)")
            try await at(14)
            kill(pid, SIGCONT)
            log.append("14 s: SIGCONT")
        }
        return log
    }

    /// Hands out task numbers to the clients.
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func take(below limit: Int) -> Int? {
            lock.withLock {
                guard value < limit else { return nil }
                defer { value += 1 }
                return value
            }
        }
    }
}
