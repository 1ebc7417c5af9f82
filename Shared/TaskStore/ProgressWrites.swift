#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Postgres
import PoolProtocol

/// `recordProgress` under load: progress events that wait for a connection go out together,
/// as one statement (see `WriteCoalescer`), each still conditional on its own task, attempt
/// and owner, and each answered with its own event id (nil when its attempt no longer runs).
/// A batch holds at most one event per task, so one task's events keep their order.
enum ProgressWrites {
    /// One progress event; ids are canonical UUIDs and `data` holds no NUL (it is stored as
    /// `TaskJSON.storable` made it), so a batch never fails for one caller's input.
    struct Write: Sendable {
        let taskID: String
        let attempt: Int
        let owner: String
        let data: JSONValue
    }

    /// One row of the batch, numbered so the answers find their callers.
    private struct Row: Encodable {
        let n: Int
        let taskID: String
        let attempt: Int
        let owner: String
        let data: JSONValue

        enum CodingKeys: String, CodingKey {
            case n, attempt, owner, data
            case taskID = "task_id"
        }
    }

    static func coalescer(_ client: PostgresClient) -> WriteCoalescer<Write, Int?> {
        WriteCoalescer(client: client, key: \.taskID, run: run)
    }

    /// `$1` task, `$2` attempt, `$3` owner, `$4` data: the event's id, or no row.
    static let singleSQL = """
        WITH bumped AS (
            UPDATE tasks SET event_seq = tasks.event_seq + 1
            WHERE tasks.task_id = $1::uuid AND tasks.status = 'running' AND tasks.attempt = $2::int
                AND tasks.owner = $3::uuid
            RETURNING tasks.task_id, tasks.event_seq, tasks.attempt
        )
        INSERT INTO task_events (task_id, id, event, data)
        SELECT bumped.task_id, bumped.event_seq, 'progress', jsonb_build_object('attempt', bumped.attempt, 'data', $4::jsonb)
        FROM bumped
        RETURNING id
        """

    /// The same rule for many tasks at once. Their rows are locked in task id order first, the
    /// order every statement that locks several tasks uses, so batches never deadlock.
    static let batchSQL = """
        WITH v AS (
            SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(n int, task_id uuid, attempt int, owner uuid, data jsonb)
        ),
        locked AS MATERIALIZED (
            SELECT tasks.task_id FROM tasks WHERE tasks.task_id IN (SELECT v.task_id FROM v)
            ORDER BY tasks.task_id FOR UPDATE
        ),
        bumped AS (
            UPDATE tasks SET event_seq = tasks.event_seq + 1
            FROM v
            WHERE tasks.task_id = v.task_id AND tasks.task_id IN (SELECT locked.task_id FROM locked)
                AND tasks.status = 'running' AND tasks.attempt = v.attempt AND tasks.owner = v.owner
            RETURNING v.n, tasks.task_id, tasks.event_seq, tasks.attempt, v.data
        ),
        added AS (
            INSERT INTO task_events (task_id, id, event, data)
            SELECT bumped.task_id, bumped.event_seq, 'progress',
                jsonb_build_object('attempt', bumped.attempt, 'data', COALESCE(bumped.data, 'null'::jsonb))
            FROM bumped
        )
        SELECT bumped.n, bumped.event_seq FROM bumped
        """

    private static func run(on connection: PostgresConnection, _ writes: [Write]) async throws -> [Int?] {
        if writes.count == 1 {
            let write = writes[0]
            let result = try await connection.query(singleSQL, [write.taskID, write.attempt, write.owner, try TaskJSON.encode(write.data)])
            return [try result.rows.first?.decode("id", as: Int.self)]
        }
        let json: String
        do {
            let rows = writes.enumerated().map { n, write in
                Row(n: n, taskID: write.taskID, attempt: write.attempt, owner: write.owner, data: write.data)
            }
            json = String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
        } catch {
            throw TaskStoreError(.unencodable, "a batch of progress events could not be encoded as JSON")
        }
        let result = try await connection.query(batchSQL, [json])
        var ids = [Int?](repeating: nil, count: writes.count)
        for row in result.rows {
            let n = try row.decode("n", as: Int.self)
            guard ids.indices.contains(n) else { throw TaskStoreError(.unreadable, "a progress batch answered an unknown row") }
            ids[n] = try row.decode("event_seq", as: Int.self)
        }
        return ids
    }
}
