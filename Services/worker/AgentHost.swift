import AgentRuntime
import AgentStore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Metrics
import PoolConfig
import PoolProtocol
import Registry
import TaskStore

/// The agents this worker hosts, and the only place that starts or stops them. Each change is
/// recorded in PostgreSQL and in the registry before it is announced, so whoever receives the
/// announcement can read the new state from either. Each agent's code runs under the pool's
/// runtime, and its tasks in its own lane (`AgentTaskLane`).
actor AgentHost {
    let processID: String
    private let registry: PoolRegistry
    let store: AgentStore
    private let tasks: TaskWiring
    let logger: Logger
    private var agents: [String: HostedAgent] = [:] {
        didSet {
            hostedGauge.record(agents.count)
            if agents.count != oldValue.count || agents.keys != oldValue.keys { tasks.feed.setAgents(Set(agents.keys)) }
        }
    }
    private let hostedGauge = Gauge(label: "agentpool_worker_hosted_agents")
    private let starts = Counter(label: "agentpool_worker_agent_starts_total")
    private let stops = Counter(label: "agentpool_worker_agent_stops_total")
    /// Agents between "start" and "running": a repeated command waits for the first.
    private var starting: Set<String> = []
    /// Set while this worker has fenced itself off (it could not reach the registry for too
    /// long, so a manager may have placed its agents elsewhere): it starts nothing.
    private var isFenced = false
    /// Agents stopped here whose rows could not be marked unplaced yet (the database was away
    /// too): retried until it works, since a row left naming this worker as `running` would
    /// keep another worker from taking the agent over.
    private var unrecorded: Set<String> = []

    init(processID: String, registry: PoolRegistry, store: AgentStore, tasks: TaskWiring, logger: Logger) {
        self.processID = processID
        self.registry = registry
        self.store = store
        self.tasks = tasks
        self.logger = logger
    }

    /// Whether nothing runs or starts here: the only state in which the worker may retire.
    var isIdle: Bool { agents.isEmpty && starting.isEmpty }

    /// Starts `spec` here, unless it already runs here (then it is confirmed again) or on
    /// another live worker (then nothing happens: an agent never runs twice). `isNew`: the
    /// command says the agent's row was created for this placement (`StartAgent.isNew`).
    func start(_ spec: AgentSpec, epoch: Int? = nil, isNew: Bool = false) async {
        var logger = logger
        logger[metadataKey: "agent_id"] = "\(spec.agentID)"
        if agents[spec.agentID] != nil {
            await confirmAgain(spec.agentID)
            return
        }
        guard !isFenced else {
            logger.warning("Start refused: this worker fenced itself off until it reaches the registry again")
            return
        }
        guard starting.insert(spec.agentID).inserted else { return }
        defer { starting.remove(spec.agentID) }
        var runtime: (any AgentRuntime)?
        do {
            switch try await registry.claimAgent(spec, processID: processID, epoch: epoch) {
            case .claimed: unrecorded.remove(spec.agentID)
            case .placedElsewhere:
                logger.warning("Agent already runs on another worker; not starting it here")
                try await registry.releaseReservation(agentID: spec.agentID, processID: processID)
                return
            case .notRegistered:
                logger.warning("Start refused: this worker is not registered (declared dead?)")
                return
            case .staleEpoch:
                logger.warning("Start refused: it comes from a leadership older than the pool's current one")
                try await registry.releaseReservation(agentID: spec.agentID, processID: processID)
                return
            }
            // The code starts (with its last checkpoint) before the agent counts as running: a
            // spawn into an exec pool answers only after the child said `ready`. A new agent
            // has no checkpoint, so none is read.
            let state = isNew ? nil : try await tasks.store.loadState(agentID: spec.agentID)
            guard var code = try await startCode(spec, state: state, logger) else { return }
            runtime = code
            let updatedAt: Date
            let firstStart: Bool
            switch try await store.recordRunning(id: spec.agentID, processID: processID) {
            case .running(let recorded, let first):
                updatedAt = recorded
                firstStart = first
                // The row ran before after all (a stale or repeated command said new): start
                // the code again with the checkpoint, before any task reaches it.
                if isNew, !first, let state = try await tasks.store.loadState(agentID: spec.agentID) {
                    logger.info("Agent was not new; starting its code again with its checkpoint")
                    await code.stop()
                    runtime = nil
                    guard let again = try await startCode(spec, state: state, logger) else { return }
                    code = again
                    runtime = again
                }
            case .notWanted:
                await code.stop()
                logger.info("Agent should no longer run; not starting it")
                try await registry.releaseAgent(agentID: spec.agentID, processID: processID)
                await announce(.agentStopped(AgentEvent(processID: processID, agentID: spec.agentID)))
                return
            case .heldElsewhere(let holder):
                // A stale or racing start: its row says it runs on `holder`. Give the claim back;
                // the leader settles rows of workers that are gone and places the agent again.
                logger.warning("Agent's row names another worker; not starting it here", metadata: ["holder": "\(holder)"])
                await code.stop()
                try await registry.releaseAgent(agentID: spec.agentID, processID: processID)
                return
            }
            let lane = tasks.makeLane(spec, code, logger, takesOver: !firstStart) { [weak self] reason in
                await self?.codeFailed(spec.agentID, reason: reason)
            }
            agents[spec.agentID] = HostedAgent(spec: spec, lane: lane)
            starts.increment()
            logger.info("Agent started", metadata: ["name": "\(spec.name)", "hosted": "\(agents.count)"])
            await announce(.agentStarted(AgentEvent(processID: processID, agentID: spec.agentID, updatedAt: Timestamp.string(updatedAt))))
        } catch {
            logger.error("Agent start failed", metadata: ["error": "\(error)"])
            await runtime?.stop()
            try? await registry.releaseAgent(agentID: spec.agentID, processID: processID)
            await announce(.agentFailed(AgentFailed(
                processID: processID, agentID: spec.agentID, reason: "worker could not record the agent", retryable: true)))
        }
    }

    /// Starts the agent's code with `state`; nil when it did not start, after the agent was
    /// recorded failed.
    private func startCode(_ spec: AgentSpec, state: JSONValue?, _ logger: Logger) async throws -> (any AgentRuntime)? {
        let code = tasks.makeRuntime(spec, logger)
        do {
            try await code.start(state: state)
            return code
        } catch let failure as RuntimeStartFailure {
            logger.warning("Agent's code did not start; the agent fails", metadata: ["reason": "\(failure.reason)"])
            await code.stop()
            await fail(spec.agentID, reason: failure.reason)
            return nil
        } catch {
            await code.stop()
            throw error
        }
    }

    /// Stops `agentID` for good. Harmless when it does not run here.
    func stop(agentID: String) async {
        if let agent = agents.removeValue(forKey: agentID) {
            await agent.stop(.terminate)
            stops.increment()
        }
        do {
            try await registry.releaseAgent(agentID: agentID, processID: processID)
            let updatedAt = try await store.markTerminated(id: agentID)
            // Its tasks ended with it (cancelled in the same step as the termination). A stream
            // left behind is deleted by the leader's upkeep; this only makes it quicker.
            try? await tasks.queue.remove(agentID: agentID)
            logger.info("Agent stopped", metadata: ["agent_id": "\(agentID)", "hosted": "\(agents.count)"])
            await announce(.agentStopped(AgentEvent(processID: processID, agentID: agentID, updatedAt: updatedAt.map(Timestamp.string))))
        } catch {
            logger.error("Agent stop not recorded", metadata: ["agent_id": "\(agentID)", "error": "\(error)"])
        }
    }

    /// Hands every agent back for placement elsewhere (the worker is leaving): each is
    /// removed from the registry and recorded unplaced, still desired `running`, so the
    /// manager places it again.
    func handOverAll() async {
        // Every lane drains at once: attempts in flight get the same short while to finish.
        await withTaskGroup(of: Void.self) { group in
            for agent in agents.values { group.addTask { await agent.stop(.handOver(grace: TaskWiring.handOverGrace)) } }
        }
        for agentID in agents.keys {
            // Best effort: deregistering right after removes every placement naming this worker.
            try? await registry.releaseAgent(agentID: agentID, processID: processID)
            await recordUnplaced(agentID)
        }
        if !agents.isEmpty { logger.info("Handed agents back for placement", metadata: ["count": "\(agents.count)"]) }
        agents.removeAll()
    }

    /// Stops every agent locally without touching the registry: used when this worker finds
    /// its registration gone (declared dead, or Redis lost its data), since its agents may
    /// already run elsewhere. Rows that still name this worker are marked unplaced so that
    /// the manager places them again; rows another worker took over are left alone.
    func abandonAll() async {
        // Taken out before the first await, so that an agent started here meanwhile (after the
        // worker registered afresh) is not swept away with them.
        let abandoned = agents
        agents.removeAll()
        for (agentID, agent) in abandoned {
            await agent.stop(.abandon)
            await recordUnplaced(agentID)
        }
        if !abandoned.isEmpty { logger.warning("Stopped local agents", metadata: ["count": "\(abandoned.count)"]) }
    }

    /// Stops every agent and refuses new ones: this worker cannot tell whether the pool still
    /// counts it alive, and an agent must never run twice. It is called before `stale_after`
    /// runs out, so the agents stop here before any manager may declare the worker dead.
    func fence() async {
        isFenced = true
        await abandonAll()
    }

    /// The worker reaches the registry again and registered afresh: it takes agents again.
    func lift() {
        isFenced = false
    }

    /// Marks unplaced the rows of stopped agents that could not be marked before, unless the
    /// agent runs here again by now (its row then names this worker rightly).
    func retryUnrecorded() async {
        for agentID in unrecorded where agents[agentID] == nil && !starting.contains(agentID) {
            await recordUnplaced(agentID)
        }
    }

    private func recordUnplaced(_ agentID: String) async {
        do {
            try await store.markUnplaced(id: agentID, processID: processID)
            unrecorded.remove(agentID)
        } catch {
            if unrecorded.insert(agentID).inserted {
                logger.warning("Could not mark a stopped agent unplaced; retrying", metadata: ["agent_id": "\(agentID)", "error": "\(error)"])
            }
        }
    }

    /// The agents hosted now, each with the identity of its instance, for `stopUnattributed`.
    func hostedSnapshot() -> [String: ObjectIdentifier] {
        agents.mapValues { ObjectIdentifier($0) }
    }

    /// Stops every agent of `snapshot` (taken before a heartbeat) that the registry no longer
    /// attributes to this worker, if it is still the same instance (one stopped, or stopped
    /// and started again, in between is left alone). Such an agent is unknown to the pool: it
    /// would run unseen, perhaps twice, and keep this worker from retiring. What is left of its
    /// placement here goes (`agent:<id>` only while it still names this worker: the agent may
    /// already run elsewhere), and a row that still names this worker and should run is marked
    /// unplaced, so the manager places the agent again.
    func stopUnattributed(_ snapshot: [String: ObjectIdentifier], attributed: Set<String>) async {
        for (agentID, instance) in snapshot where !attributed.contains(agentID) {
            guard let agent = agents[agentID], ObjectIdentifier(agent) == instance else { continue }
            agents.removeValue(forKey: agentID)
            await agent.stop(.abandon)
            stops.increment()
            do {
                try await registry.releaseAgent(agentID: agentID, processID: processID)
            } catch {
                // The manager's reconcile clears a placement that names a worker which does
                // not host the agent; this only makes it quicker.
                logger.warning("Could not release a stopped agent's placement", metadata: ["agent_id": "\(agentID)", "error": "\(error)"])
            }
            await recordUnplaced(agentID)
            logger.warning(
                "Stopped an agent the registry no longer attributes to this worker",
                metadata: ["agent_id": "\(agentID)", "hosted": "\(agents.count)"])
        }
    }

    // MARK: Tasks

    /// Hands stream deliveries to the lanes of their agents (others are not hosted here any
    /// more: their next host takes the entries over).
    func deliver(_ deliveries: [TaskDelivery]) {
        for (agentID, batch) in Dictionary(grouping: deliveries, by: \.agentID) {
            agents[agentID]?.lane.deliver(batch)
        }
    }

    /// Reads the unfinished tasks of every hosted agent from PostgreSQL and hands each lane its
    /// own: what the stream lost (Redis restarted without its data, an entry trimmed) is found
    /// here, and so are cancels whose message was lost.
    func sweepTasks() async {
        let hosted = agents
        guard !hosted.isEmpty else { return }
        do {
            let records = Dictionary(grouping: try await tasks.store.unfinished(agentIDs: Array(hosted.keys)), by: \.agentID)
            for (agentID, agent) in hosted { agent.lane.swept(records[agentID] ?? []) }
        } catch {
            logger.warning("Could not sweep the hosted agents' tasks", metadata: ["error": "\(error)"])
        }
    }

    /// A cancel was recorded for a task of a hosted agent.
    func cancelTask(agentID: String, taskID: String) {
        agents[agentID]?.lane.cancel(taskID: taskID)
    }

    /// The agent's code gave up (it exits at once whenever it starts): the agent ends
    /// `failed`, and its tasks with it.
    private func codeFailed(_ agentID: String, reason: String) async {
        guard agents.removeValue(forKey: agentID) != nil else { return }
        stops.increment()
        await fail(agentID, reason: reason)
    }

    /// Records the agent `failed` (its unfinished tasks fail in the same step), releases its
    /// placement and announces it.
    private func fail(_ agentID: String, reason: String) async {
        do {
            try await tasks.store.markAgentFailed(agentID: agentID, processID: processID, reason: reason)
        } catch {
            logger.error("Could not record the agent failed", metadata: ["agent_id": "\(agentID)", "error": "\(error)"])
        }
        // Best effort: reconcile clears a placement whose row ended, and the leader's upkeep the
        // stream; the row (written above) is what counts.
        try? await registry.releaseAgent(agentID: agentID, processID: processID)
        try? await tasks.queue.remove(agentID: agentID)
        await announce(.agentFailed(AgentFailed(processID: processID, agentID: agentID, reason: reason, retryable: false)))
    }

    func announce(_ message: PoolMessage) async {
        do {
            try await registry.publish(message, on: .events)
        } catch {
            // The outcome is already in PostgreSQL and Redis; waiters fall back to reading it.
            logger.warning("Could not publish event", metadata: ["type": "\(message.type.rawValue)", "error": "\(error)"])
        }
    }
}
