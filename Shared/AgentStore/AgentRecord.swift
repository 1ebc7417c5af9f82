#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Postgres
import PoolProtocol

/// One row of the `agents` table: what should be true of an agent (its desired state) and
/// what was last observed (status, hosting worker).
public struct AgentRecord: Sendable, Hashable {
    public var id: String
    public var name: String
    public var poolName: String
    public var role: String
    public var metadata: JSONObject
    public var desiredState: DesiredState
    public var status: AgentStatus
    public var processID: String?
    public var idempotencyKey: String?
    public var requestHash: String?
    public var failureReason: String?
    /// When a worker first confirmed the agent running; nil for a spawn request that never ran.
    public var firstRunningAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    /// What a worker needs to host it.
    public var spec: AgentSpec {
        AgentSpec(agentID: id, name: name, poolName: poolName, role: role, metadata: metadata)
    }

    /// The API's view.
    public var view: AgentView {
        AgentView(
            agentID: id, name: name, poolName: poolName, role: role, status: status, processID: processID,
            createdAt: Timestamp.string(createdAt), updatedAt: Timestamp.string(updatedAt), metadata: metadata)
    }

    /// The columns every query selects, in the order `init(row:)` reads them.
    static let columns = """
        id, name, pool_name, role, metadata, desired_state, status, process_id, idempotency_key,
        request_hash, failure_reason, first_running_at, created_at, updated_at
        """

    init(row: PostgresRow) throws {
        id = try row.decode("id", as: UUID.self).uuidString.lowercased()
        name = try row.decode("name")
        poolName = try row.decode("pool_name")
        role = try row.decode("role")
        let metadataText: String = try row.decode("metadata")
        metadata = try JSONDecoder().decode(JSONObject.self, from: Data(metadataText.utf8))
        let desired: String = try row.decode("desired_state")
        let status: String = try row.decode("status")
        guard let desiredState = DesiredState(rawValue: desired), let observed = AgentStatus(rawValue: status) else {
            throw AgentStoreError(message: "agents row \(id) has an unknown state")
        }
        self.desiredState = desiredState
        self.status = observed
        processID = try row.decodeIfPresent("process_id", as: UUID.self)?.uuidString.lowercased()
        idempotencyKey = try row.decodeIfPresent("idempotency_key")
        requestHash = try row.decodeIfPresent("request_hash")
        failureReason = try row.decodeIfPresent("failure_reason")
        firstRunningAt = try row.decodeIfPresent("first_running_at")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }
}
