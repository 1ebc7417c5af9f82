#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Postgres
import PoolProtocol

/// The `agents` table: the desired state of every agent, the source of truth that
/// reconciliation restores the registry from. Every statement is one parameterized
/// `PQexecParams` call, so it works through PgBouncer in transaction pooling mode.
///
/// The writes of every spawn and termination (`insert` without an idempotency key,
/// `markRunning`, `markStopping`, `markTerminated`) are batched under concurrency: calls that
/// wait for a connection share one statement (see `AgentWriteBatches`), each still committed
/// before it returns and each answered with its own row.
public struct AgentStore: Sendable {
    public let client: PostgresClient
    private let batches: AgentWriteBatches

    public init(client: PostgresClient) {
        self.client = client
        self.batches = AgentWriteBatches(client: client)
    }

    /// How many statements the batched writes sent so far (fewer than calls under load).
    public var batchedStatements: AgentWriteCounts { batches.counts }

    /// Records a new agent that should run (status `pending`). When `idempotencyKey` is
    /// already taken in the pool, nothing is inserted and the first request's row is
    /// returned instead.
    public func insert(_ spec: AgentSpec, idempotencyKey: String?, requestHash: String?) async throws -> InsertOutcome {
        let metadata = try Self.json(spec.metadata)
        if idempotencyKey == nil, let id = AgentWriteBatches.canonical(spec.agentID),
           ![spec.name, spec.poolName, spec.role, requestHash ?? ""].contains(where: { $0.contains("\u{0}") }),
           !metadata.contains("\\u0000")
        {
            // Without a key there is no conflict to resolve: the insert may share a statement.
            // Text that PostgreSQL would refuse (NUL) takes the single-row path, so that it
            // fails only its own caller, never a whole batch.
            let row = AgentWriteBatches.NewRow(
                id: id, name: spec.name, poolName: spec.poolName, role: spec.role, metadata: spec.metadata,
                requestHash: requestHash)
            return .created(try await batches.inserts.submit(row))
        }
        let inserted = try await client.query(
            Self.insertSQL, [spec.agentID, spec.name, spec.poolName, spec.role, metadata, idempotencyKey, requestHash])
        if let row = inserted.rows.first { return .created(try AgentRecord(row: row)) }
        guard let idempotencyKey else { throw AgentStoreError(message: "insert returned no row") }
        let existing = try await client.query(
            "SELECT \(AgentRecord.columns) FROM agents WHERE pool_name = $1 AND idempotency_key = $2",
            [spec.poolName, idempotencyKey])
        guard let row = existing.rows.first else {
            // The first request failed and freed its key between our two statements: try again.
            return try await insert(spec, idempotencyKey: idempotencyKey, requestHash: requestHash)
        }
        return .existing(try AgentRecord(row: row))
    }

    /// The agent with `id`, or nil.
    public func fetch(id: String) async throws -> AgentRecord? {
        let result = try await client.query("SELECT \(AgentRecord.columns) FROM agents WHERE id = $1::uuid", [id])
        return try result.rows.first.map(AgentRecord.init(row:))
    }

    /// Agents, newest first, optionally of one pool and/or one status.
    public func list(pool: String?, status: AgentStatus?, limit: Int = 1000) async throws -> [AgentRecord] {
        let result = try await client.query(
            """
            SELECT \(AgentRecord.columns) FROM agents
            WHERE ($1::text IS NULL OR pool_name = $1) AND ($2::text IS NULL OR status = $2)
            ORDER BY created_at DESC, id LIMIT $3
            """,
            [pool, status?.rawValue, limit])
        return try result.rows.map(AgentRecord.init(row:))
    }

    /// Agents of `pool` that should run: what a reconcile pass makes the registry match.
    public func shouldRun(pool: String) async throws -> [AgentRecord] {
        let result = try await client.query(
            "SELECT \(AgentRecord.columns) FROM agents WHERE pool_name = $1 AND desired_state = 'running' ORDER BY created_at",
            [pool])
        return try result.rows.map(AgentRecord.init(row:))
    }

    /// A worker records that the agent runs on it. Returns the row's new `updated_at`, or nil
    /// when nothing was recorded: the agent should no longer run, or another worker holds it
    /// running (`recordRunning` tells the two apart).
    public func markRunning(id: String, processID: String) async throws -> Date? {
        try await recordRunning(id: id, processID: processID).updatedAt
    }

    /// A worker records that the agent runs on it: only a row that should run and is unplaced
    /// or already this worker's, so a late or stale start never revives a terminated agent nor
    /// takes a row another worker holds. The first confirmed start is remembered
    /// (`first_running_at`): from then on no refusal may delete the row.
    public func recordRunning(id: String, processID: String) async throws -> RunningOutcome {
        if let id = AgentWriteBatches.canonical(id), let processID = AgentWriteBatches.canonical(processID) {
            return try await batches.running.submit(AgentWriteBatches.Running(id: id, processID: processID))
        }
        let result = try await client.query(Self.markRunningSQL, [id, processID])
        return try AgentWriteBatches.runningOutcome(result.rows.first, processID: processID)
    }

    /// Termination was asked for: the agent should not run any more. Returns the row as it
    /// is now (unchanged when it had already ended), or nil for an unknown id. Its unfinished
    /// tasks end `cancelled` in the same step, after its row is locked: a submit racing it
    /// either commits first (and its task is cancelled here) or finds the agent terminated.
    public func markStopping(id: String) async throws -> AgentRecord? {
        if let id = AgentWriteBatches.canonical(id) { return try await batches.stopping.submit(id) }
        let result = try await client.query(Self.markStoppingSQL(ids: "ARRAY[$1::uuid]"), [id])
        return try result.rows.first.map(AgentRecord.init(row:))
    }

    /// The agent stopped for good. A row already `terminated` (or `failed`) is left as it is,
    /// `updated_at` included: a repeated stop (a reconcile pass racing a DELETE sends one)
    /// must not make the row differ from what the DELETE answered. Unfinished tasks of the
    /// agent end `cancelled` in the same step.
    @discardableResult
    public func markTerminated(id: String) async throws -> Date? {
        if let id = AgentWriteBatches.canonical(id) { return try await batches.terminated.submit(id) }
        let result = try await client.query(Self.markTerminatedSQL(ids: "ARRAY[$1::uuid]"), [id])
        return try result.rows.first.map { try $0.decode("updated_at") }
    }

    /// The agent was placed on no worker (its worker left or died); it waits for placement.
    public func markUnplaced(id: String, processID: String) async throws {
        _ = try await client.query(
            """
            UPDATE agents SET status = 'pending', process_id = NULL, updated_at = now()
            WHERE id = $1::uuid AND process_id = $2::uuid AND desired_state = 'running'
            """,
            [id, processID])
    }

    /// Deletes an agent that was refused before it ever ran, so that a refused spawn leaves
    /// nothing behind (contract: "A refused spawn (503) creates nothing that lists as live").
    /// A row that was ever confirmed running is never deleted. (The leader's refusals use the
    /// fenced `deleteRefused(id:fence:)`.)
    public func deleteRefused(id: String) async throws {
        _ = try await client.query(
            """
            DELETE FROM agents
            WHERE id = $1::uuid AND status IN ('pending', 'starting') AND process_id IS NULL AND first_running_at IS NULL
            """,
            [id])
    }

    static func json(_ object: JSONObject) throws -> String {
        String(decoding: try JSONEncoder().encode(object), as: UTF8.self)
    }
}

extension AgentStore {
    /// One new row; `$6` is the idempotency key, `$7` the request hash.
    static let insertSQL = """
        INSERT INTO agents (id, name, pool_name, role, metadata, desired_state, status, idempotency_key, request_hash)
        VALUES ($1::uuid, $2, $3, $4, $5::jsonb, 'running', 'pending', $6, $7)
        ON CONFLICT (pool_name, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING \(AgentRecord.columns)
        """

    /// `$1` the agent, `$2` the worker's process id. One row: `updated_at` when the write
    /// happened, and the row as it was before (`desired_state`, `holder`) to say why not, and
    /// whether the agent had never run nor been given a task (`first_start`: then no earlier
    /// host left attempts or stream entries to take over; a task committed while the write
    /// waits for the row's lock reaches the worker through its stream, whose group reads from
    /// the start, or, should that append have failed, the worker's sweep).
    ///
    /// `agentpool_mark_running` (`cachedPlansMigration`) commits this observed state without
    /// waiting for the WAL to reach the disk: the leader's reconcile rebuilds it from the
    /// registry should a PostgreSQL crash lose it (docs/operations.md, "What is durable
    /// when"). Never desired state or tasks.
    static let markRunningSQL = markRunningSQL(ids: "ARRAY[$1::uuid]", processes: "ARRAY[$2::uuid]")

    /// `markRunning` for the agents of the uuid array expression `ids` on the workers of
    /// `processes` (element by element): one row per element.
    static func markRunningSQL(ids: String, processes: String) -> String {
        "SELECT id, updated_at, desired_state, holder, first_start FROM agentpool_mark_running(\(ids), \(processes))"
    }

    /// The agents `ids` names (a uuid array expression) that had not ended, now `terminated`
    /// (`agentpool_terminate_agents` in the schema also cancels their unfinished tasks).
    static func markTerminatedSQL(ids: String) -> String {
        "SELECT id, updated_at FROM agentpool_terminate_agents(\(ids))"
    }

    /// Every agent `ids` names (a uuid array expression), now stopping or terminated
    /// (`agentpool_stop_agents` in the schema also cancels their unfinished tasks).
    static func markStoppingSQL(ids: String) -> String {
        "SELECT \(AgentRecord.columns) FROM agentpool_stop_agents(\(ids))"
    }
}

/// What `insert` did.
public enum InsertOutcome: Sendable, Hashable {
    /// A new row.
    case created(AgentRecord)
    /// The idempotency key was taken: the first request's row.
    case existing(AgentRecord)
}
