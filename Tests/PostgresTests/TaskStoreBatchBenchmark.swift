import AgentStore
import Foundation
import Postgres
import PoolProtocol
import TaskStore
import Testing

/// Measures submits from many callers of one gateway, then start+finish pairs from many lanes
/// of one worker, through PgBouncer (the store's default pool of 3 connections): once with one
/// statement per call, as `TaskStore` sent them before migration 5 (the same single-row SQL),
/// once through `TaskStore`'s batches. Prints
/// statements and wall time; asserts only that every task ended `succeeded` exactly once.
/// `TASK_BATCH_BENCH_LANES` and `TASK_BATCH_BENCH_PAIRS` change the size (default 20 × 200).
@Suite struct TaskStoreBatchBenchmark {
    typealias Fixture = TaskStoreFixture

    static let lanes = ProcessInfo.processInfo.environment["TASK_BATCH_BENCH_LANES"].flatMap(Int.init) ?? 20
    static let pairs = ProcessInfo.processInfo.environment["TASK_BATCH_BENCH_PAIRS"].flatMap(Int.init) ?? 200

    /// One lane's calls: start then finish, one task after the other.
    struct Lane: Sendable {
        let processID: String
        let taskIDs: [String]
    }

    /// `lanes` agents with `pairs` queued tasks each, submitted by `lanes` concurrent callers
    /// (one per agent), through `TaskStore` or (`singleRow`) with the SQL it sent per submit
    /// before migration 5; prints the time and statements.
    static func prepare(_ f: Fixture, singleRow: Bool) async throws -> [Lane] {
        let limits = Fixture.limits(maxQueued: pairs + 1)
        var agents: [(String, String)] = []
        for _ in 0..<lanes { agents.append(try await f.runningAgent()) }
        let store = f.tasks
        let client = f.client
        let before = store.agentSubmitStatements
        let start = ContinuousClock.now
        let prepared = try await withThrowingTaskGroup(of: Lane.self) { group in
            for (agentID, processID) in agents {
                group.addTask {
                    var ids: [String] = []
                    for n in 0..<pairs {
                        if singleRow {
                            let result = try await client.query(
                                """
                                SELECT r.outcome, (r.task).task_id
                                FROM agentpool_submit_to_agent($1, $2::uuid, $3::jsonb, $4::float8, $5::int, $6::text, $7::int) AS r
                                """,
                                [agentID, Identifier.make(), "\(n)", 300.0, 3, nil, pairs + 1])
                            guard result.rows.first?["outcome"] == "accepted", let id = result.rows.first?["task_id"] else {
                                throw TaskFixtureFailure()
                            }
                            ids.append(id)
                        } else {
                            let outcome = try await store.submit(agentID: agentID, TaskSubmission(input: .number(Double(n))), limits: limits)
                            guard case .accepted(let record) = outcome else { throw TaskFixtureFailure() }
                            ids.append(record.taskID)
                        }
                    }
                    return Lane(processID: processID, taskIDs: ids)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let statements = singleRow ? lanes * pairs : store.agentSubmitStatements - before
        print(
            "\(singleRow ? "single-row" : "batched"): \(lanes) callers × \(pairs) submits: \(statements) statements"
                + " for \(lanes * pairs) calls in \(ContinuousClock.now - start)")
        return prepared
    }

    /// Runs every lane at once; `pair` starts and finishes one task and says whether it succeeded.
    static func run(_ lanes: [Lane], _ pair: @escaping @Sendable (String, String) async throws -> Bool) async throws -> (Duration, Int) {
        let start = ContinuousClock.now
        let succeeded = try await withThrowingTaskGroup(of: Int.self) { group in
            for lane in lanes {
                group.addTask {
                    var count = 0
                    for taskID in lane.taskIDs where try await pair(taskID, lane.processID) { count += 1 }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        return (ContinuousClock.now - start, succeeded)
    }

    @Test("benchmark: 20 lanes × 200 start+finish pairs, one statement per call vs batched")
    func startFinishPairs() async throws {
        let calls = Self.lanes * Self.pairs * 2
        try await Fixture.with(poolSize: 3) { f in
            let lanes = try await Self.prepare(f, singleRow: true)
            let client = f.client
            let (elapsed, succeeded) = try await Self.run(lanes) { taskID, processID in
                // The SQL `TaskStore` sent per call before migration 5.
                let started = try await client.query(
                    "SELECT r.outcome, (r.task).* FROM agentpool_task_start($1::uuid, $2::uuid) AS r", [taskID, processID])
                guard started.rows.first?["outcome"] == "started" else { return false }
                let ended = try await client.query(
                    """
                    SELECT status FROM agentpool_task_outcome($1::uuid, $2::int, $3::uuid, $4::text, $5::jsonb, $6::jsonb)
                    """,
                    [taskID, 1, processID, "succeeded", "{\"ok\":true}", nil])
                return ended.rows.first?["status"] == "succeeded"
            }
            #expect(succeeded == Self.lanes * Self.pairs)
            print(
                "single-row: \(Self.lanes) lanes × \(Self.pairs) pairs: \(calls) statements for \(calls) calls in \(elapsed)"
                    + " (\(Int(Double(Self.lanes * Self.pairs) / Self.seconds(elapsed))) pairs/s)")
        }
        try await Fixture.with(poolSize: 3) { f in
            let lanes = try await Self.prepare(f, singleRow: false)
            let store = f.tasks
            let before = (store.startStatements, store.finishStatements)
            let (elapsed, succeeded) = try await Self.run(lanes) { taskID, processID in
                guard case .started(let record) = try await store.startAttempt(taskID: taskID, processID: processID) else { return false }
                let ended = try await store.finishAttempt(
                    taskID: taskID, attempt: record.attempt, processID: processID, result: .succeeded(.object(["ok": .bool(true)])))
                return ended?.status == .succeeded
            }
            #expect(succeeded == Self.lanes * Self.pairs)
            let starts = store.startStatements - before.0
            let finishes = store.finishStatements - before.1
            print(
                "batched: \(Self.lanes) lanes × \(Self.pairs) pairs: \(starts + finishes) statements (\(starts) starts,"
                    + " \(finishes) outcomes) for \(calls) calls in \(elapsed)"
                    + " (\(Int(Double(Self.lanes * Self.pairs) / Self.seconds(elapsed))) pairs/s)")
            for lane in lanes.prefix(2) {
                for taskID in lane.taskIDs.prefix(3) { #expect(try await f.eventKinds(taskID) == [.queued, .started, .succeeded]) }
            }
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
