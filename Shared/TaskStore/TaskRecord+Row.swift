#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Postgres
import PoolProtocol

extension TaskRecord {
    /// The columns every query of `tasks` selects, in the order `init(row:)` reads them. The
    /// plpgsql functions return whole `tasks` rows, which carry the same names.
    static let columns = """
        task_id, agent_id, pool_name, seq, status, input, output, error, attempt, max_attempts, timeout_seconds,
        cancel_requested_at, owner, not_before, event_seq, created_at, started_at, finished_at, updated_at
        """

    /// Reads one `tasks` row (PostgreSQL prints uuids in the canonical lowercase form).
    init(row: PostgresRow) throws {
        let taskID: String = try row.decode("task_id")
        let statusText: String = try row.decode("status")
        guard let status = TaskStatus(rawValue: statusText) else {
            throw TaskStoreError(.unreadable, "tasks row \(taskID) has an unknown status")
        }
        self.init(
            taskID: taskID,
            agentID: try row.decode("agent_id"),
            poolName: try row.decode("pool_name"),
            seq: try row.decode("seq"),
            status: status,
            input: try TaskJSON.decode(try row.decode("input"), column: "input"),
            output: try row.decodeIfPresent("output", as: String.self).map { try TaskJSON.decode($0, column: "output") },
            error: try row.decodeIfPresent("error", as: String.self).map(TaskJSON.decodeFailure),
            attempt: try row.decode("attempt"),
            maxAttempts: try row.decode("max_attempts"),
            timeout: try row.decode("timeout_seconds"),
            cancelRequested: try row.decodeIfPresent("cancel_requested_at", as: Date.self) != nil,
            owner: try row.decodeIfPresent("owner"),
            notBefore: try row.decodeIfPresent("not_before"),
            lastEventID: try row.decode("event_seq"),
            createdAt: try row.decode("created_at"),
            startedAt: try row.decodeIfPresent("started_at"),
            finishedAt: try row.decodeIfPresent("finished_at"),
            updatedAt: try row.decode("updated_at"))
    }
}

extension TaskEventRecord {
    static let columns = "id, event, data, created_at"

    init(row: PostgresRow) throws {
        let kindText: String = try row.decode("event")
        guard let kind = TaskEventKind(rawValue: kindText) else {
            throw TaskStoreError(.unreadable, "a task event has an unknown kind")
        }
        guard case .object(let data) = try TaskJSON.decode(try row.decode("data"), column: "data") else {
            throw TaskStoreError(.unreadable, "a task event's data is not a JSON object")
        }
        self.init(id: try row.decode("id"), kind: kind, data: data, createdAt: try row.decode("created_at"))
    }
}
