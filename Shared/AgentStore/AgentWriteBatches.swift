#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Postgres
import PoolProtocol

/// The writes of `AgentStore` that concurrent callers share statements for (see
/// `WriteCoalescer`): under load, the spawns and terminations that wait for a connection go
/// out as one set-based statement instead of one statement (and one commit) each. A lone
/// write runs the same single-row statement as before.
///
/// Stops and terminations call a schema function (`agentpool_stop_agents`,
/// `agentpool_terminate_agents`) that locks the agents' rows and then, in a second statement
/// of the same step, cancels their unfinished tasks: one batch is still one statement.
///
/// Every batched input carries canonical UUIDs (checked before it joins a batch), so the
/// array literals built here need no escaping; text and JSON travel as one JSON parameter.
struct AgentWriteBatches: Sendable {
    /// `markRunning`: the agent id and the worker's process id.
    struct Running: Sendable {
        let id: String
        let processID: String
    }

    /// A new row without an idempotency key, in the shape `jsonb_to_recordset` reads.
    struct NewRow: Sendable, Encodable {
        let id: String
        let name: String
        let poolName: String
        let role: String
        let metadata: JSONObject
        let requestHash: String?

        enum CodingKeys: String, CodingKey {
            case id, name, role, metadata
            case poolName = "pool_name"
            case requestHash = "request_hash"
        }
    }

    let running: WriteCoalescer<Running, RunningOutcome>
    let terminated: WriteCoalescer<String, Date?>
    let stopping: WriteCoalescer<String, AgentRecord?>
    let inserts: WriteCoalescer<NewRow, AgentRecord>

    init(client: PostgresClient) {
        running = WriteCoalescer(client: client, key: \.id, run: Self.markRunning)
        terminated = WriteCoalescer(client: client, key: { $0 }, run: Self.markTerminated)
        stopping = WriteCoalescer(client: client, key: { $0 }, run: Self.markStopping)
        inserts = WriteCoalescer(client: client, key: \.id, run: Self.insert)
    }

    /// The statements each kind sent so far.
    var counts: AgentWriteCounts {
        AgentWriteCounts(
            running: running.statements, terminated: terminated.statements,
            stopping: stopping.statements, inserts: inserts.statements,
            waiting: running.waiting + terminated.waiting + stopping.waiting + inserts.waiting)
    }

    /// `id` in canonical lowercase form, or nil when it is not a UUID in the usual form (such
    /// a write takes the single-row path, which reports the error as before).
    static func canonical(_ id: String) -> String? {
        UUID(uuidString: id).map { $0.uuidString.lowercased() }
    }

    private static func markRunning(on connection: PostgresConnection, _ writes: [Running]) async throws -> [RunningOutcome] {
        if writes.count == 1 {
            let result = try await connection.query(AgentStore.markRunningSQL, [writes[0].id, writes[0].processID])
            return [try runningOutcome(result.rows.first, processID: writes[0].processID)]
        }
        let result = try await connection.query(
            AgentStore.markRunningSQL(ids: "$1::uuid[]", processes: "$2::uuid[]"),
            [uuidArray(writes.map(\.id)), uuidArray(writes.map(\.processID))])
        var byID: [String: PostgresRow] = [:]
        for row in result.rows { byID[try row.decode("id", as: UUID.self).uuidString.lowercased()] = row }
        return try writes.map { try runningOutcome(byID[$0.id], processID: $0.processID) }
    }

    /// Reads one row of a `markRunning` statement: written, not wanted, or held by another worker.
    static func runningOutcome(_ row: PostgresRow?, processID: String) throws -> RunningOutcome {
        guard let row else { return .notWanted }
        if let updatedAt: Date = try row.decodeIfPresent("updated_at") {
            return .running(updatedAt: updatedAt, firstStart: row["first_start"] == "t")
        }
        if row["desired_state"] == "running", let holder = row["holder"], holder != processID.lowercased() {
            return .heldElsewhere(holder: holder)
        }
        return .notWanted
    }

    private static func markTerminated(on connection: PostgresConnection, _ ids: [String]) async throws -> [Date?] {
        if ids.count == 1 {
            let result = try await connection.query(AgentStore.markTerminatedSQL(ids: "ARRAY[$1::uuid]"), [ids[0]])
            return [try result.rows.first.map { try $0.decode("updated_at") }]
        }
        let result = try await connection.query(AgentStore.markTerminatedSQL(ids: "$1::uuid[]"), [uuidArray(ids)])
        let byID = try updatedAt(result)
        return ids.map { byID[$0] }
    }

    private static func markStopping(on connection: PostgresConnection, _ ids: [String]) async throws -> [AgentRecord?] {
        if ids.count == 1 {
            let result = try await connection.query(AgentStore.markStoppingSQL(ids: "ARRAY[$1::uuid]"), [ids[0]])
            return [try result.rows.first.map(AgentRecord.init(row:))]
        }
        let result = try await connection.query(AgentStore.markStoppingSQL(ids: "$1::uuid[]"), [uuidArray(ids)])
        let byID = try records(result)
        return ids.map { byID[$0] }
    }

    private static func insert(on connection: PostgresConnection, _ rows: [NewRow]) async throws -> [AgentRecord] {
        let result: PostgresResult
        if rows.count == 1 {
            let row = rows[0]
            result = try await connection.query(
                AgentStore.insertSQL,
                [row.id, row.name, row.poolName, row.role, try AgentStore.json(row.metadata), nil, row.requestHash])
        } else {
            let json: String
            do {
                json = String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
            } catch {
                throw PostgresError(code: .decoding, message: "The new agents could not be encoded as JSON.")
            }
            result = try await connection.query(
                """
                INSERT INTO agents (id, name, pool_name, role, metadata, desired_state, status, request_hash)
                SELECT v.id, v.name, v.pool_name, v.role, v.metadata, 'running', 'pending', v.request_hash
                FROM jsonb_to_recordset($1::jsonb)
                    AS v(id uuid, name text, pool_name text, role text, metadata jsonb, request_hash text)
                RETURNING \(AgentRecord.columns)
                """,
                [json])
        }
        let byID = try records(result)
        return try rows.map { row in
            guard let record = byID[row.id] else {
                throw PostgresError(code: .decoding, message: "The insert returned no row for one of its agents.")
            }
            return record
        }
    }

    /// `{a,b,c}`: canonical UUIDs need no quoting in an array literal.
    private static func uuidArray(_ ids: [String]) -> String {
        "{" + ids.joined(separator: ",") + "}"
    }

    private static func updatedAt(_ result: PostgresResult) throws -> [String: Date] {
        var byID: [String: Date] = [:]
        for row in result.rows {
            byID[try row.decode("id", as: UUID.self).uuidString.lowercased()] = try row.decode("updated_at")
        }
        return byID
    }

    private static func records(_ result: PostgresResult) throws -> [String: AgentRecord] {
        var byID: [String: AgentRecord] = [:]
        for row in result.rows {
            let record = try AgentRecord(row: row)
            byID[record.id] = record
        }
        return byID
    }
}

/// How many statements `AgentStore`'s batched writes sent so far, by kind (under
/// concurrency they are fewer than the calls), and how many writes wait now.
public struct AgentWriteCounts: Sendable, Hashable {
    /// `markRunning` statements.
    public var running: Int
    /// `markTerminated` statements.
    public var terminated: Int
    /// `markStopping` statements.
    public var stopping: Int
    /// `insert` statements for spawns without an idempotency key.
    public var inserts: Int
    /// Writes of any kind waiting for their batch to go out now.
    public var waiting: Int
}
