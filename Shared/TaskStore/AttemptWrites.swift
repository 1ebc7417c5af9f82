#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Postgres
import PoolProtocol
import Synchronization

/// `startAttempt` and `finishAttempt` under load: the calls that wait for a connection (many
/// agents' lanes in one worker) go out together, as one statement and one commit (see
/// `WriteCoalescer`), each element run through the same single-row function as a lone call
/// (`agentpool_start_attempts` / `agentpool_finish_attempts`, migrations 5 and 7), each caller
/// answered with its own row. A lone call runs the single-row function itself, as before.
///
/// A batch holds at most one write per task, only canonical UUIDs, and JSON that PostgreSQL
/// parses whatever the other rows hold (`TaskStore.batchableJSON`): what could fail for one caller's
/// input goes alone, so it never fails a batch. Each answer is decoded on its own
/// (`Result`): a row one caller cannot read fails that caller only.
enum AttemptWrites {
    struct Start: Sendable {
        let taskID: String
        let processID: String
    }

    struct Finish: Sendable {
        let taskID: String
        let attempt: Int
        let owner: String
        /// succeeded, failed, timed_out or cancelled.
        let kind: String
        /// The encoded output (succeeded) and error (failed), else nil.
        let output: String?
        let error: String?
    }

    static func starts(_ client: PostgresClient) -> WriteCoalescer<Start, Result<AttemptStart, any Error>> {
        WriteCoalescer(client: client, key: \.taskID, run: runStarts)
    }

    static func finishes(_ client: PostgresClient) -> WriteCoalescer<Finish, Result<TaskRecord?, any Error>> {
        WriteCoalescer(client: client, key: \.taskID, run: runFinishes)
    }

    // MARK: Single rows

    static let startSQL = "SELECT r.outcome, (r.task).* FROM agentpool_task_start($1::uuid, $2::uuid) AS r"

    static let finishSQL = """
        SELECT \(TaskRecord.columns)
        FROM agentpool_task_outcome($1::uuid, $2::int, $3::uuid, $4::text, $5::jsonb, $6::jsonb)
        """

    static func startParameters(_ start: Start) -> [(any PostgresEncodable)?] {
        [start.taskID, start.processID]
    }

    static func finishParameters(_ finish: Finish) -> [(any PostgresEncodable)?] {
        [finish.taskID, finish.attempt, finish.owner, finish.kind, finish.output, finish.error]
    }

    /// Reads the answer of `agentpool_task_start` (or one element of the batch).
    static func attemptStart(outcome: String?, row: PostgresRow?) throws -> AttemptStart {
        guard let outcome, let row else { throw TaskStoreError(.unreadable, "a task function returned no outcome") }
        switch outcome {
        case "started": return .started(try TaskRecord(row: row))
        case "cancelled": return .cancelled(try TaskRecord(row: row))
        case "not_startable": return .notStartable
        case "not_before":
            guard let notBefore = try TaskRecord(row: row).notBefore else {
                throw TaskStoreError(.unreadable, "a task in backoff has no not_before")
            }
            return .notBefore(notBefore)
        default: throw TaskStoreError(.unreadable, "startAttempt answered an unknown outcome")
        }
    }

    /// Whether `finish` may share a statement (see `TaskStore.batchableJSON`).
    static func finishBatchable(_ result: AttemptResult, output: String?, error: String?) -> Bool {
        guard case .succeeded(let value) = result else { return TaskStore.batchableJSON(bytes: error?.utf8.count ?? 0, nil) }
        return TaskStore.batchableJSON(bytes: (output?.utf8.count ?? 0) + (error?.utf8.count ?? 0), value)
    }

    // MARK: Batches

    private static func runStarts(on connection: PostgresConnection, _ starts: [Start]) async throws -> [Result<AttemptStart, any Error>] {
        if starts.count == 1 {
            let result = try await connection.query(startSQL, startParameters(starts[0]))
            let row = result.rows.first
            return [Result { try attemptStart(outcome: row?["outcome"], row: row) }]
        }
        let result = try await connection.query(
            "SELECT r.n, r.outcome, (r.task).* FROM agentpool_start_attempts($1::uuid[], $2::uuid[]) AS r",
            [TaskStore.uuidArray(starts.map(\.taskID)), TaskStore.uuidArray(starts.map(\.processID))])
        var answers = [Result<AttemptStart, any Error>](
            repeating: .failure(TaskStoreError(.unreadable, "a batch of starts gave no answer for one of them")), count: starts.count)
        for row in result.rows {
            guard let n = try? row.decode("n", as: Int.self), answers.indices.contains(n - 1) else {
                throw TaskStoreError(.unreadable, "a batch of starts answered an unknown row")
            }
            answers[n - 1] = Result { try attemptStart(outcome: row["outcome"], row: row) }
        }
        return answers
    }

    private static func runFinishes(on connection: PostgresConnection, _ finishes: [Finish]) async throws -> [Result<TaskRecord?, any Error>] {
        if finishes.count == 1 {
            let result = try await connection.query(finishSQL, finishParameters(finishes[0]))
            return [Result { try result.rows.first.map(TaskRecord.init(row:)) }]
        }
        // Every output and error is JSON text that `TaskJSON` encoded: the arrays join them as is.
        let outputs = "[" + finishes.map { $0.output ?? "null" }.joined(separator: ",") + "]"
        let errors = "[" + finishes.map { $0.error ?? "null" }.joined(separator: ",") + "]"
        let result = try await connection.query(
            """
            SELECT r.n, (r.task).*
            FROM agentpool_finish_attempts($1::uuid[], $2::int[], $3::uuid[], $4::text[], $5::jsonb, $6::jsonb) AS r
            """,
            [
                TaskStore.uuidArray(finishes.map(\.taskID)), "{" + finishes.map { String($0.attempt) }.joined(separator: ",") + "}",
                TaskStore.uuidArray(finishes.map(\.owner)), "{" + finishes.map(\.kind).joined(separator: ",") + "}",
                outputs, errors,
            ])
        // No row: a late or fenced answer (nil), as a lone call answers it.
        var answers = [Result<TaskRecord?, any Error>](repeating: .success(nil), count: finishes.count)
        for row in result.rows {
            guard let n = try? row.decode("n", as: Int.self), answers.indices.contains(n - 1) else {
                throw TaskStoreError(.unreadable, "a batch of outcomes answered an unknown row")
            }
            answers[n - 1] = Result { try TaskRecord(row: row) }
        }
        return answers
    }
}

/// Counts the writes that a batch found busy and ran alone (statements of their own).
final class BatchFallbacks: Sendable {
    private let count = Atomic<Int>(0)

    func add() { count.add(1, ordering: .relaxed) }

    var value: Int { count.load(ordering: .relaxed) }
}

extension TaskStore {
    /// Whether JSON of `bytes` bytes holding `value` may share a statement: small and shallow
    /// enough that PostgreSQL parses it whatever it holds. A value nested deeper than
    /// PostgreSQL's stack allows, or a huge one, goes alone and fails or succeeds on its own.
    static func batchableJSON(bytes: Int, _ value: JSONValue?) -> Bool {
        guard bytes <= maxBatchedJSONBytes else { return false }
        guard let value else { return true }
        return depth(value, limit: maxBatchedDepth) <= maxBatchedDepth
    }

    static let maxBatchedJSONBytes = 256 * 1024
    static let maxBatchedDepth = 64

    /// The nesting depth of `value`, counted up to just past `limit`.
    private static func depth(_ value: JSONValue, limit: Int) -> Int {
        guard limit >= 0 else { return 1 }
        switch value {
        case .null, .bool, .number, .string: return 0
        case .array(let items): return 1 + (items.lazy.map { depth($0, limit: limit - 1) }.max() ?? 0)
        case .object(let members): return 1 + (members.values.lazy.map { depth($0, limit: limit - 1) }.max() ?? 0)
        }
    }
}
