#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Postgres
import PoolProtocol

/// `submit(agentID:)` without an idempotency key, under load: the submits that wait for a
/// connection (many requests in one gateway) go out together, as one statement and one commit
/// (see `WriteCoalescer`), each element run through `agentpool_submit_to_agent` as a lone
/// submit is (`agentpool_submit_to_agents`, migration 5), with the agents' rows locked for the
/// whole batch: acceptance, the exact `max_queued_tasks` and the DELETE race stay as they are.
/// A lone submit, one with a key, or one whose input could fail alone (too large or deep for
/// `TaskStore.batchableJSON`) runs the single-row function itself, as before.
enum SubmitWrites {
    struct Submit: Sendable {
        let agentID: String
        let taskID: String
        /// The input, encoded (`TaskJSON.encode`).
        let input: String
        let timeout: Double
        let maxAttempts: Int
        let maxQueued: Int
    }

    /// What a batched submit answers: its outcome, or that the agent's row was busy (or
    /// unknown) and the submit must run alone.
    enum Answer: Sendable {
        case decided(SubmitOutcome)
        case busy
    }

    static func coalescer(_ client: PostgresClient) -> WriteCoalescer<Submit, Result<Answer, any Error>> {
        WriteCoalescer(client: client, key: \.taskID, run: run)
    }

    static let singleSQL = """
        SELECT r.outcome, (r.task).*
        FROM agentpool_submit_to_agent($1, $2::uuid, $3::jsonb, $4::float8, $5::int, $6::text, $7::int) AS r
        """

    static func singleParameters(_ submit: Submit) -> [(any PostgresEncodable)?] {
        [submit.agentID, submit.taskID, submit.input, submit.timeout, submit.maxAttempts, nil, submit.maxQueued]
    }

    /// Reads the answer of a submit function (or one element of the batch).
    static func outcome(_ outcome: String?, row: PostgresRow?) throws -> SubmitOutcome {
        guard let outcome, let row else { throw TaskStoreError(.unreadable, "a task function returned no outcome") }
        switch outcome {
        case "accepted": return .accepted(try TaskRecord(row: row))
        case "replayed": return .replayed(try TaskRecord(row: row))
        case "key_conflict": return .keyConflict
        case "agent_not_found": return .agentNotFound
        case "agent_not_running": return .agentNotRunning
        case "queue_full": return .queueFull
        case "no_running_agent": return .noRunningAgent
        default: throw TaskStoreError(.unreadable, "submit answered an unknown outcome")
        }
    }

    private static func run(on connection: PostgresConnection, _ submits: [Submit]) async throws -> [Result<Answer, any Error>] {
        if submits.count == 1 {
            let result = try await connection.query(singleSQL, singleParameters(submits[0]))
            let row = result.rows.first
            return [Result { .decided(try outcome(row?["outcome"], row: row)) }]
        }
        let result = try await connection.query(
            """
            SELECT r.n, r.outcome, (r.task).*
            FROM agentpool_submit_to_agents($1::uuid[], $2::uuid[], $3::jsonb, $4::float8[], $5::int[], $6::int[]) AS r
            """,
            [
                TaskStore.uuidArray(submits.map(\.agentID)), TaskStore.uuidArray(submits.map(\.taskID)),
                "[" + submits.map(\.input).joined(separator: ",") + "]",
                "{" + submits.map { "\($0.timeout)" }.joined(separator: ",") + "}",
                "{" + submits.map { String($0.maxAttempts) }.joined(separator: ",") + "}",
                "{" + submits.map { String($0.maxQueued) }.joined(separator: ",") + "}",
            ])
        var answers = [Result<Answer, any Error>](
            repeating: .failure(TaskStoreError(.unreadable, "a batch of submits gave no answer for one of them")), count: submits.count)
        for row in result.rows {
            guard let n = try? row.decode("n", as: Int.self), answers.indices.contains(n - 1) else {
                throw TaskStoreError(.unreadable, "a batch of submits answered an unknown row")
            }
            answers[n - 1] = Result {
                let text = row["outcome"]
                return text == "busy" ? .busy : .decided(try outcome(text, row: row))
            }
        }
        return answers
    }
}
