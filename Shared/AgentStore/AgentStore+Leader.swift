#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Postgres
import PoolProtocol

/// The leadership a write is made under: the pool and the epoch `LeadershipStore.nextEpoch`
/// gave this manager.
public struct LeadershipEpoch: Sendable, Hashable {
    public let pool: String
    public let epoch: Int

    public init(pool: String, epoch: Int) {
        self.pool = pool
        self.epoch = epoch
    }
}

/// A leader's write was refused: `pool_leadership` holds a newer epoch, so another manager
/// leads. The caller must stop acting.
public struct LeadershipLost: Error, CustomStringConvertible {
    public let pool: String
    public let epoch: Int
    public var description: String { "epoch \(epoch) of pool \(pool) is no longer the current leadership" }
}

/// What `releaseWorker` did to one row that named the dead worker.
public struct ReleasedAgent: Sendable, Hashable {
    public let id: String
    /// True when the agent was being stopped and is now `terminated`; false when it should
    /// run and is now `pending`, waiting to be placed again.
    public let terminated: Bool
    public let updatedAt: Date
}

/// The writes only a pool's leader makes. Each is fenced by the leader's epoch in the same
/// statement: the `pool_leadership` row is read `FOR SHARE`, so a new leadership's
/// `nextEpoch` either commits first (and the write is refused) or waits for it. A deposed
/// leader that resumes after a pause therefore changes nothing.
extension AgentStore {
    /// The fence every leader write starts with (`$1` pool, `$2` epoch).
    static let fenceCTE = "lead AS (SELECT 1 FROM pool_leadership WHERE pool_name = $1 AND epoch = $2 FOR SHARE)"

    /// Every row of the pool that names `processID`, a worker found gone: rows that should run
    /// become `pending` (unplaced) and rows being stopped become `terminated`.
    public func releaseWorker(_ processID: String, fence: LeadershipEpoch) async throws -> [ReleasedAgent] {
        let result = try await client.query(
            """
            WITH \(Self.fenceCTE),
            changed AS (
                UPDATE agents SET status = CASE WHEN desired_state = 'running' THEN 'pending' ELSE 'terminated' END,
                    process_id = NULL, updated_at = now()
                WHERE process_id = $3::uuid AND pool_name = $1 AND status NOT IN ('terminated', 'failed')
                    AND EXISTS (SELECT 1 FROM lead)
                RETURNING id, status, updated_at
            )
            SELECT (SELECT count(*) FROM lead) AS leading, changed.id, changed.status, changed.updated_at
            FROM (SELECT 1) AS one LEFT JOIN changed ON true
            """,
            [fence.pool, fence.epoch, processID])
        try Self.requireLeading(result, fence)
        return try result.rows.compactMap { row in
            guard let id = try row.decodeIfPresent("id", as: UUID.self) else { return nil }
            return ReleasedAgent(id: id.uuidString.lowercased(), terminated: row["status"] == "terminated", updatedAt: try row.decode("updated_at"))
        }
    }

    /// An agent being stopped that no worker can still run (its worker is gone, or it was never
    /// placed) is recorded `terminated`. Returns the new `updated_at`, nil when the row was not
    /// being stopped (already ended, or it should run).
    @discardableResult
    public func terminateUnhosted(id: String, fence: LeadershipEpoch) async throws -> Date? {
        let result = try await client.query(
            """
            WITH \(Self.fenceCTE),
            changed AS (
                UPDATE agents SET status = 'terminated', process_id = NULL, updated_at = now()
                WHERE id = $3::uuid AND pool_name = $1 AND desired_state = 'terminated'
                    AND status NOT IN ('terminated', 'failed') AND EXISTS (SELECT 1 FROM lead)
                RETURNING updated_at
            )
            SELECT (SELECT count(*) FROM lead) AS leading, (SELECT updated_at FROM changed) AS updated_at
            """,
            [fence.pool, fence.epoch, id])
        try Self.requireLeading(result, fence)
        return try result.rows.first?.decodeIfPresent("updated_at")
    }

    /// Deletes the row of a spawn request refused for capacity, only if it never ran (no
    /// confirmed start, no worker): an agent that ran is never deleted by a refusal. Returns
    /// whether the row was deleted.
    public func deleteRefused(id: String, fence: LeadershipEpoch) async throws -> Bool {
        let result = try await client.query(
            """
            WITH \(Self.fenceCTE),
            gone AS (
                DELETE FROM agents
                WHERE id = $3::uuid AND pool_name = $1 AND status IN ('pending', 'starting') AND process_id IS NULL
                    AND first_running_at IS NULL AND EXISTS (SELECT 1 FROM lead)
                RETURNING id
            )
            SELECT (SELECT count(*) FROM lead) AS leading, (SELECT count(*) FROM gone) AS deleted
            """,
            [fence.pool, fence.epoch, id])
        try Self.requireLeading(result, fence)
        return try result.rows.first?.decode("deleted", as: Int.self) == 1
    }

    /// The agent could not be started and will not be retried. Its idempotency key is freed
    /// so that the client may try again with the same key. An agent that had tasks (one being
    /// placed again after its worker died) fails them (`"agent failed: <reason>"`) in the same
    /// transaction, by a second statement: it sees every task a submit committed while the
    /// first one waited for the agent's row.
    public func markFailed(id: String, reason: String, fence: LeadershipEpoch) async throws {
        try await client.withTransaction { connection in
            let result = try await connection.query(
                """
                WITH \(Self.fenceCTE),
                changed AS (
                    UPDATE agents SET desired_state = 'terminated', status = 'failed', process_id = NULL,
                        failure_reason = $4, idempotency_key = NULL, updated_at = now()
                    WHERE id = $3::uuid AND pool_name = $1 AND status NOT IN ('running', 'terminated')
                        AND EXISTS (SELECT 1 FROM lead)
                    RETURNING id
                )
                SELECT (SELECT count(*) FROM lead) AS leading, (SELECT count(*) FROM changed) AS changed
                """,
                [fence.pool, fence.epoch, id, reason])
            try Self.requireLeading(result, fence)
            guard try result.rows.first?.decode("changed", as: Int.self) == 1 else { return }
            try await connection.query(
                """
                SELECT agentpool_end_unfinished(ARRAY[$1::uuid], 'failed',
                    jsonb_build_object('message', 'agent failed: ' || $2::text, 'retryable', false))
                """,
                [id, reason])
        }
    }

    /// What a reconcile pass reads: agents of `pool` that should run, and agents being stopped
    /// whose stop has not ended yet.
    public func unsettled(pool: String) async throws -> [AgentRecord] {
        let result = try await client.query(
            """
            SELECT \(AgentRecord.columns) FROM agents WHERE pool_name = $1 AND desired_state = 'running'
            UNION ALL
            SELECT \(AgentRecord.columns) FROM agents
            WHERE pool_name = $1 AND desired_state = 'terminated' AND status NOT IN ('terminated', 'failed')
            ORDER BY created_at
            """,
            [pool])
        return try result.rows.map(AgentRecord.init(row:))
    }

    private static func requireLeading(_ result: PostgresResult, _ fence: LeadershipEpoch) throws {
        guard try result.rows.first?.decode("leading", as: Int.self) == 1 else {
            throw LeadershipLost(pool: fence.pool, epoch: fence.epoch)
        }
    }
}
