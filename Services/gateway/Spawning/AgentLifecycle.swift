import AgentStore
import Foundation
import HTTPTypes
import Logging
import Metrics
import PoolConfig
import PoolProtocol
import Redis
import Registry

/// Spawn and terminate, end to end: record the wish in PostgreSQL, place the agent on a free
/// slot (or, when none is free, ask the pool's manager), wait for the worker's confirmation
/// (announced on the events channel, with PostgreSQL read as the backstop), and answer. The
/// answer is the row this request wrote as the worker's announcement says it changed, so a
/// confirmed spawn or terminate costs no second read; PostgreSQL is read only when no
/// announcement came in time or one did not say enough.
struct AgentLifecycle: Sendable {
    let store: AgentStore
    let registries: [String: PoolRegistry]
    let outcomes: AgentOutcomes
    let timeout: Duration
    let logger: Logger
    /// Spares a spawn the `EXISTS pool:<name>:leader` round trip when a leader was just seen.
    let leaders = LeaderSightings()
    /// Places spawns on free slots without the manager hop.
    let placement = DirectPlacement()

    /// How often a waiting request reads PostgreSQL in case an event was lost.
    static let pollInterval: Duration = .milliseconds(500)

    /// A spawn or DELETE answers within `SPAWN_TIMEOUT` plus this, whatever hangs behind it:
    /// the wait for the worker ends at `SPAWN_TIMEOUT`, this bounds a dependency that hangs.
    static let answerMargin: Duration = .milliseconds(500)

    /// Spawns an agent and returns it running, or throws the API error to answer.
    func spawn(pool: PoolDefinition, request: SpawnRequest, idempotencyKey: String?) async throws -> AgentView {
        let started = ContinuousClock.now
        do {
            let record = try await AnswerDeadline.run(within: timeout + Self.answerMargin, timeout: { Self.spawnTimeout(timeout) }) {
                try await spawnOnce(pool: pool, request: request, idempotencyKey: idempotencyKey, started: started)
            }
            Self.record("agentpool_spawn_duration_seconds", pool: pool.name, outcome: "ok", since: started)
            return record
        } catch {
            Self.record("agentpool_spawn_duration_seconds", pool: pool.name, outcome: Self.outcome(of: error), since: started)
            throw error
        }
    }

    private func spawnOnce(
        pool: PoolDefinition, request: SpawnRequest, idempotencyKey: String?, started: ContinuousClock.Instant
    ) async throws -> AgentView {
        guard let registry = registries[pool.name] else { throw APIError.notFound("pool_not_found", "No pool named `\(pool.name)`.") }
        try await requireLeader(registry)
        let agentID = Identifier.make()
        let spec = AgentSpec(
            agentID: agentID, name: request.name ?? "\(pool.role)-\(agentID.prefix(8))", poolName: pool.name,
            role: pool.role, metadata: request.metadata ?? [:])
        let fingerprint = request.fingerprint

        outcomes.beginInterest(agentID)
        defer { outcomes.endInterest(agentID) }
        switch try await store.insert(spec, idempotencyKey: idempotencyKey, requestHash: fingerprint) {
        case .created(let record):
            do {
                switch try await placement.place(spec, on: registry) {
                case .placed:
                    leaders.record(pool.name)
                case .noLeader:
                    leaders.forget(pool.name)
                    if try await withdraw(agentID) { throw Self.noManager(pool.name) }
                case .askManager:
                    try await askManager(spec, registry: registry)
                }
            } catch let error as APIError {
                throw error
            } catch {
                // Redis failed (the leader check may have come from `leaders`, so this is how
                // an outage shows first). Take the row back so that the refused spawn leaves
                // nothing live, unless a worker got the request after all and runs it.
                leaders.forget(pool.name)
                if try await withdraw(agentID) { throw error }
            }
            return try await awaitRunning(record, pool: pool.name, started: started)
        case .existing(let first):
            guard first.requestHash == fingerprint else {
                throw APIError(
                    status: .conflict, code: "idempotency_key_conflict",
                    message: "This Idempotency-Key was used with a different body in pool `\(pool.name)`.")
            }
            if first.status == .pending || first.status == .starting {
                outcomes.beginInterest(first.id)
                defer { outcomes.endInterest(first.id) }
                return try await awaitRunning(first, pool: pool.name, started: started)
            }
            return first.view
        }
    }

    /// Takes back the row of a spawn nobody will place; false when that came too late because
    /// a manager placed it meanwhile (a reconcile pass may find the row first), so the spawn
    /// waits for it instead of being refused.
    private func withdraw(_ agentID: String) async throws -> Bool {
        try await store.deleteRefused(id: agentID)
        return try await store.fetch(id: agentID) == nil
    }

    /// Hands a spawn no free slot could take to the pool's leading manager (scale up, queue or
    /// refuse). Every manager replica, standbys too, listens on the requests channel for its
    /// whole life: nobody listening means no manager runs, so nobody would place the agent
    /// until one starts (a lease left by a killed leader proves nothing); then the row is taken
    /// back and the spawn answers 503, unless a worker got the agent meanwhile.
    private func askManager(_ spec: AgentSpec, registry: PoolRegistry) async throws {
        let receivers = try await registry.publish(.placeAgent(PlaceAgent(agent: spec)), on: .requests)
        guard receivers == 0 else { return }
        leaders.forget(registry.pool)
        if try await withdraw(spec.agentID) { throw Self.noManager(registry.pool) }
    }

    /// Throws `no_manager` (503) unless a manager leads the registry's pool (seen within
    /// `LeaderSightings.freshness`, or `pool:<name>:leader` exists now).
    private func requireLeader(_ registry: PoolRegistry) async throws {
        if leaders.isFresh(registry.pool) { return }
        guard try await registry.leaderExists() else { throw Self.noManager(registry.pool) }
        leaders.record(registry.pool)
    }

    private static func noManager(_ pool: String) -> APIError {
        APIError.unavailable("no_manager", "No manager serves pool `\(pool)` right now; try again shortly.")
    }

    /// Waits until the agent runs, was refused, or the time is up. `record` is its row as this
    /// request wrote or found it.
    private func awaitRunning(_ record: AgentRecord, pool: String, started: ContinuousClock.Instant) async throws -> AgentView {
        let agentID = record.id
        let deadline = started + timeout
        while true {
            let remaining = deadline - .now
            let outcome = remaining > .zero ? await outcomes.next(for: agentID, within: min(remaining, Self.pollInterval)) : nil
            switch outcome {
            case .failed(let reason, refused: true)?:
                throw APIError.unavailable("pool_full", "\(reason.prefix(200)); try again later.")
            case .started(let processID, let updatedAt?)?:
                // The worker's `markRunning` changed exactly these columns of the row we hold.
                return Self.view(of: record, status: .running, processID: processID, updatedAt: updatedAt)
            default:
                break
            }
            // No announcement, or one that does not say enough: read the row.
            guard let current = try await store.fetch(id: agentID) else {
                // The manager refused the spawn and removed its row.
                throw APIError.unavailable("pool_full", "Pool `\(pool)` has no free slot and cannot grow; try again later.")
            }
            switch current.status {
            case .running: return current.view
            case .failed:
                // The agent's code could not start (an exec child that exited or never said
                // `ready`): the pool cannot run this agent now; it is recorded `failed`.
                throw APIError.unavailable(
                    "spawn_failed", "The agent could not be started: \(current.failureReason ?? "unknown reason").")
            case .terminated, .stopping: return current.view
            case .pending, .starting: break
            }
            if ContinuousClock.now >= deadline { throw Self.spawnTimeout(timeout, agentID: agentID) }
        }
    }

    private static func spawnTimeout(_ timeout: Duration, agentID: String? = nil) -> APIError {
        let status = agentID.map { "GET /api/v1/agents/\($0) shows its status." } ?? "GET /api/v1/agents lists it once recorded."
        return APIError(
            status: .gatewayTimeout, code: "spawn_timeout",
            message: "The agent was not confirmed running within \(timeout); it keeps being placed. \(status)")
    }

    private static func terminateTimeout(_ timeout: Duration) -> APIError {
        APIError(
            status: .gatewayTimeout, code: "terminate_timeout",
            message: "The worker did not confirm the termination within \(timeout); it will still stop. Repeat the DELETE to check.")
    }

    /// Terminates an agent and returns it `terminated`; harmless to repeat.
    func terminate(agentID: String) async throws -> AgentView {
        let started = ContinuousClock.now
        do {
            let record = try await AnswerDeadline.run(within: timeout + Self.answerMargin, timeout: { Self.terminateTimeout(timeout) }) {
                try await terminateOnce(agentID: agentID, started: started)
            }
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

    private func terminateOnce(agentID: String, started: ContinuousClock.Instant) async throws -> AgentView {
        outcomes.beginInterest(agentID)
        defer { outcomes.endInterest(agentID) }
        guard let record = try await store.markStopping(id: agentID) else {
            throw APIError.notFound("agent_not_found", "No agent with id `\(agentID)`.")
        }
        guard let registry = registries[record.poolName] else { return record.view }
        if record.status.isFinal {
            // An agent that was never placed ends here, but the leader may still hold it
            // waiting for a slot or a worker: tell it, so that it stops placing it.
            if record.processID == nil { await tellLeader(registry, terminated: agentID) }
            return record.view
        }
        try await registry.publish(.terminateAgent(TerminateAgent(agentID: agentID)), on: .requests)
        let deadline = started + timeout
        while ContinuousClock.now < deadline {
            if case .stopped(let updatedAt?)? = await outcomes.next(for: agentID, within: min(deadline - .now, Self.pollInterval)) {
                // The worker's `markTerminated` changed exactly these columns of `record`.
                return Self.view(of: record, status: .terminated, processID: nil, updatedAt: updatedAt)
            }
            if let current = try await store.fetch(id: agentID), current.status.isFinal { return current.view }
        }
        throw Self.terminateTimeout(timeout)
    }

    /// Best effort: the row is already final, and every reconcile pass drops waiting agents
    /// whose rows should no longer run, so a lost message only delays that.
    private func tellLeader(_ registry: PoolRegistry, terminated agentID: String) async {
        do {
            try await registry.publish(.terminateAgent(TerminateAgent(agentID: agentID)), on: .requests)
        } catch {
            logger.warning("Could not tell the manager about a terminated unplaced agent", metadata: ["agent_id": "\(agentID)", "error": "\(error)"])
        }
    }

    /// `record` as the API shows it after a worker's write that it announced: the other
    /// fields (name, pool, role, metadata, created_at) never change after the insert.
    private static func view(of record: AgentRecord, status: AgentStatus, processID: String?, updatedAt: String) -> AgentView {
        var view = record.view
        view.status = status
        view.processID = processID
        view.updatedAt = updatedAt
        return view
    }
}
