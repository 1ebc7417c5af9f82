import AgentStore
import Foundation
import HTTPTypes
import Logging
import Metrics
import PoolConfig
import PoolProtocol
import Redis
import Registry

/// Spawn and terminate, end to end: record the wish in PostgreSQL, ask the pool's manager,
/// wait for the worker's confirmation (announced on the events channel, with PostgreSQL
/// read as the backstop), and answer.
struct AgentLifecycle: Sendable {
    let store: AgentStore
    let registries: [String: PoolRegistry]
    let outcomes: AgentOutcomes
    let timeout: Duration
    let logger: Logger

    /// How often a waiting request reads PostgreSQL in case an event was lost.
    static let pollInterval: Duration = .milliseconds(500)

    /// Spawns an agent and returns it running, or throws the API error to answer.
    func spawn(pool: PoolDefinition, request: SpawnRequest, idempotencyKey: String?) async throws -> AgentRecord {
        let started = ContinuousClock.now
        do {
            let record = try await spawnOnce(pool: pool, request: request, idempotencyKey: idempotencyKey)
            Self.record("agentpool_spawn_duration_seconds", pool: pool.name, outcome: "ok", since: started)
            return record
        } catch {
            Self.record("agentpool_spawn_duration_seconds", pool: pool.name, outcome: Self.outcome(of: error), since: started)
            throw error
        }
    }

    private func spawnOnce(pool: PoolDefinition, request: SpawnRequest, idempotencyKey: String?) async throws -> AgentRecord {
        guard let registry = registries[pool.name] else { throw APIError.notFound("pool_not_found", "No pool named `\(pool.name)`.") }
        guard try await registry.redis.send("EXISTS", RedisKeys.poolLeader(pool.name)).int == 1 else {
            throw APIError.unavailable("no_manager", "No manager serves pool `\(pool.name)` right now; try again shortly.")
        }
        let agentID = Identifier.make()
        let spec = AgentSpec(
            agentID: agentID, name: request.name ?? "\(pool.role)-\(agentID.prefix(8))", poolName: pool.name,
            role: pool.role, metadata: request.metadata ?? [:])
        let fingerprint = request.fingerprint

        await outcomes.beginInterest(agentID)
        defer { Task { await outcomes.endInterest(agentID) } }
        switch try await store.insert(spec, idempotencyKey: idempotencyKey, requestHash: fingerprint) {
        case .created:
            let receivers = try await registry.publish(.placeAgent(PlaceAgent(agent: spec)), on: .requests)
            if receivers == 0 {
                logger.warning("No manager listened for the placement; the reconcile pass will place it", metadata: ["agent_id": "\(agentID)"])
            }
            return try await awaitRunning(agentID: agentID, pool: pool.name)
        case .existing(let first):
            guard first.requestHash == fingerprint else {
                throw APIError(
                    status: .conflict, code: "idempotency_key_conflict",
                    message: "This Idempotency-Key was used with a different body in pool `\(pool.name)`.")
            }
            if first.status == .pending || first.status == .starting {
                await outcomes.beginInterest(first.id)
                defer { Task { await outcomes.endInterest(first.id) } }
                return try await awaitRunning(agentID: first.id, pool: pool.name)
            }
            return first
        }
    }

    /// Waits until the agent runs, was refused, or the time is up.
    private func awaitRunning(agentID: String, pool: String) async throws -> AgentRecord {
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = deadline - .now
            let outcome = remaining > .zero ? await outcomes.next(for: agentID, within: min(remaining, Self.pollInterval)) : nil
            if case .failed(let reason, refused: true)? = outcome {
                throw APIError.unavailable("pool_full", "\(reason.prefix(200)); try again later.")
            }
            guard let record = try await store.fetch(id: agentID) else {
                // The manager refused the spawn and removed its row.
                throw APIError.unavailable("pool_full", "Pool `\(pool)` has no free slot and cannot grow; try again later.")
            }
            switch record.status {
            case .running: return record
            case .failed:
                throw APIError(
                    status: .internalServerError, code: "spawn_failed",
                    message: "The agent could not be started: \(record.failureReason ?? "unknown reason").")
            case .terminated, .stopping: return record
            case .pending, .starting: break
            }
            if ContinuousClock.now >= deadline {
                throw APIError(
                    status: .gatewayTimeout, code: "spawn_timeout",
                    message: "The agent was not confirmed running within \(timeout); it keeps being placed. GET /api/v1/agents/\(agentID) shows its status.")
            }
        }
    }

    /// Terminates an agent and returns it `terminated`; harmless to repeat.
    func terminate(agentID: String) async throws -> AgentRecord {
        let started = ContinuousClock.now
        do {
            let record = try await terminateOnce(agentID: agentID)
            Self.record("agentpool_terminate_duration_seconds", pool: record.poolName, outcome: "ok", since: started)
            return record
        } catch {
            Self.record("agentpool_terminate_duration_seconds", pool: "", outcome: Self.outcome(of: error), since: started)
            throw error
        }
    }

    /// Records a latency in the histogram `label`, by pool and outcome (`ok` or the error code).
    private static func record(_ label: String, pool: String, outcome: String, since started: ContinuousClock.Instant) {
        Timer(label: label, dimensions: [("pool", pool), ("outcome", outcome)])
            .record(duration: ContinuousClock.now - started)
    }

    private static func outcome(of error: any Error) -> String {
        (error as? APIError)?.code ?? "error"
    }

    private func terminateOnce(agentID: String) async throws -> AgentRecord {
        await outcomes.beginInterest(agentID)
        defer { Task { await outcomes.endInterest(agentID) } }
        guard let record = try await store.markStopping(id: agentID) else {
            throw APIError.notFound("agent_not_found", "No agent with id `\(agentID)`.")
        }
        if record.status.isFinal { return record }
        guard let registry = registries[record.poolName] else { return record }
        try await registry.publish(.terminateAgent(TerminateAgent(agentID: agentID)), on: .requests)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            _ = await outcomes.next(for: agentID, within: min(deadline - .now, Self.pollInterval))
            if let current = try await store.fetch(id: agentID), current.status.isFinal { return current }
        }
        throw APIError(
            status: .gatewayTimeout, code: "terminate_timeout",
            message: "The worker did not confirm the termination within \(timeout); it will still stop. Repeat the DELETE to check.")
    }
}
