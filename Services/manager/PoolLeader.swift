import AgentStore
import CoreMetrics
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PoolConfig
import PoolCore
import PoolProtocol
import Registry
import ServiceSupport

/// What the leading manager of a pool does: places agents on workers with free slots,
/// launches workers when every slot is taken, and reconciles PostgreSQL (what should run)
/// with the registry (what runs). It acts only while its leadership lasts: every registry
/// script it runs checks its lease token, every database write its epoch, every command
/// carries the epoch; the first refusal deposes it (`PoolLeader+Fencing`).
actor PoolLeader {
    let definition: PoolDefinition
    let limits: PoolLimits
    let epoch: Int
    let registry: PoolRegistry
    let store: AgentStore
    let launcher: ChildWorkerLauncher?
    let metrics: PoolMetrics
    var logger: Logger
    /// What the registry's fenced scripts check: this manager's lease token and epoch.
    let fence: LeaderFence
    /// What the database's fenced writes check: the pool and this leadership's epoch.
    let epochFence: LeadershipEpoch

    /// Agents waiting for a free slot, in arrival order.
    var waiting: [WaitingAgent] = []
    /// Agents with a reservation and a start command on the way.
    var inFlight: [String: InFlightStart] = [:]
    /// Empty ready workers: process id → since when they were seen empty.
    var emptySince: [String: ContinuousClock.Instant] = [:]
    /// Workers being retired (taken out of placement by this leader, or found so).
    var retiring: Set<String> = []
    /// Draining workers that still host agents: process id → since when they were seen so.
    var drainingSince: [String: ContinuousClock.Instant] = [:]
    /// Recent scale-ups, to tell a sustained burst (grow geometrically) from a single one.
    var scaleUps = ScaleUpStreak()

    /// An agent waiting for a slot.
    struct WaitingAgent: Sendable {
        var spec: AgentSpec
        /// A spawn request that never ran: the only kind a refusal for capacity may delete
        /// (answering its gateway 503). An agent placed again after its worker died waits,
        /// visibly `pending`, until capacity exists.
        var isSpawnRequest: Bool
    }

    struct InFlightStart: Sendable {
        /// The worker commanded; nil while the reserve script runs.
        var processID: String?
        var deadline: ContinuousClock.Instant
    }

    /// Agents between the placement decision and the command (guards actor reentrancy).
    var placing: Set<String> = []
    /// A reconcile pass runs; another request for one makes it run once more.
    var isReconciling = false
    var reconcileRequested = false

    /// Reconcile found more agents to place than it started (restore after a restart).
    var hasBacklog = false

    /// No worker is declared dead for missing heartbeats before this: `stale_after` after the
    /// leadership began and after the registry became reachable again.
    var livenessGraceUntil: ContinuousClock.Instant
    /// The last pass could not read the registry (Redis away or stalled).
    var registryTrouble = false

    /// Set once a fenced script or write was refused: this leader acts no more.
    var isDeposed = false
    nonisolated let depositions: AsyncStream<Void>
    let depositionSignal: AsyncStream<Void>.Continuation

    /// The most starts a leader keeps unconfirmed while restoring agents; also the most agents
    /// that wait in the leader under `launcher: external` (the rest wait in PostgreSQL, placed
    /// by a later pass).
    static let maxStartsInFlight = 64

    /// How long a reservation waits for the worker's confirmation before its slot frees.
    static let startTimeout: Duration = .seconds(15)

    init(
        definition: PoolDefinition, fence: LeaderFence, registry: PoolRegistry, store: AgentStore,
        launcher: ChildWorkerLauncher?, logger: Logger
    ) {
        self.definition = definition
        self.limits = PoolLimits(definition)
        self.epoch = fence.epoch
        self.fence = fence
        self.epochFence = LeadershipEpoch(pool: definition.name, epoch: fence.epoch)
        self.registry = registry
        self.store = store
        self.launcher = launcher
        self.metrics = PoolMetrics(pool: definition.name)
        self.logger = logger
        self.logger[metadataKey: "epoch"] = "\(fence.epoch)"
        self.livenessGraceUntil = .now + PoolLimits(definition).staleAfter
        (depositions, depositionSignal) = AsyncStream.makeStream(of: Void.self)
    }

    // MARK: Messages

    /// Acts on one message from the requests or events channel.
    func handle(_ message: PoolMessage) async {
        guard !isDeposed else { return }
        switch message {
        case .placeAgent(let request):
            guard request.agent.poolName == definition.name else { return }
            await place(request.agent, isSpawnRequest: true)
        case .terminateAgent(let request):
            await terminate(agentID: request.agentID)
        case .workerRegistered(let event):
            await launcher?.registered(event.processID)
            logger.info("Worker joined", metadata: ["process_id": "\(event.processID)"])
            await placeWaiting()
        case .agentStarted(let event):
            inFlight.removeValue(forKey: event.agentID)
            if hasBacklog, inFlight.count <= Self.maxStartsInFlight / 2 { await reconcile() }
        case .agentStopped(let event):
            // Also what a worker answers to a start it did not record: the slot is free again.
            inFlight.removeValue(forKey: event.agentID)
            if hasBacklog, inFlight.count <= Self.maxStartsInFlight / 2 { await reconcile() }
        case .agentFailed(let event) where event.processID != nil:
            // A worker could not record the agent; the next reconcile pass places it again.
            inFlight.removeValue(forKey: event.agentID)
        case .workerStopping(let event):
            // It handed its agents back: place them on the other workers now.
            logger.info("Worker leaving; placing its agents again", metadata: ["process_id": "\(event.processID)"])
            await reconcile()
        default:
            break
        }
    }

    // MARK: Placement

    /// Reserves a slot and commands that worker, or queues the agent and scales up.
    func place(_ spec: AgentSpec, isSpawnRequest: Bool) async {
        guard !isDeposed, inFlight[spec.agentID] == nil, !waiting.contains(where: { $0.spec.agentID == spec.agentID }),
              placing.insert(spec.agentID).inserted
        else { return }
        defer { placing.remove(spec.agentID) }
        do {
            if try await startOnFreeSlot(spec) { return }
            // Nothing bounds the wait under `launcher: external`: keep the leader's list
            // bounded; PostgreSQL keeps the rest, and a later pass places them.
            if launcher == nil, waiting.count >= Self.maxStartsInFlight { return }
            waiting.append(WaitingAgent(spec: spec, isSpawnRequest: isSpawnRequest))
            await scaleUp()
        } catch {
            failed(error, "Placement failed", ["agent_id": "\(spec.agentID)"])
        }
    }

    /// Reserves a slot and sends the start command in one script; false when no worker has a
    /// free slot (or none of those listens).
    func startOnFreeSlot(_ spec: AgentSpec) async throws -> Bool {
        let deadline = Date().addingTimeInterval(Self.startTimeout.seconds)
        // In flight before the script runs: the worker may confirm (and `handle` clear the
        // entry) before the script's reply reaches this actor again.
        inFlight[spec.agentID] = InFlightStart(processID: nil, deadline: .now + Self.startTimeout)
        let processID: String?
        do {
            processID = try await registry.reserveAndStart(spec, fence: fence, deadline: deadline)
        } catch {
            inFlight.removeValue(forKey: spec.agentID)
            throw error
        }
        guard let processID else {
            inFlight.removeValue(forKey: spec.agentID)
            return false
        }
        inFlight[spec.agentID]?.processID = processID
        metrics.placements.increment()
        logger.info("Placed agent", metadata: ["agent_id": "\(spec.agentID)", "process_id": "\(processID)"])
        return true
    }

    /// Places waiting agents while slots are free (after a worker joined, and on every pass,
    /// so that agents kept waiting for capacity are retried).
    func placeWaiting() async {
        while !isDeposed, let next = waiting.first {
            do {
                guard try await startOnFreeSlot(next.spec) else { break }
                waiting.removeAll { $0.spec.agentID == next.spec.agentID }
            } catch {
                failed(error, "Placement failed", ["agent_id": "\(next.spec.agentID)"])
                break
            }
        }
        if !waiting.isEmpty { await scaleUp() }
    }

    /// Launches the workers the waiting agents need; refuses the waiting spawn requests when
    /// the pool is at `max_workers` with every slot taken, or when no worker can be started.
    func scaleUp() async {
        guard !waiting.isEmpty, !isDeposed else { return }
        do {
            let workers = try await registry.workers()
            let free = workers.filter { $0.status == .ready }.reduce(0) { $0 + $1.freeSlots }
            let launching = await launcher?.inFlight ?? 0
            let streak = scaleUps.length(at: .now)
            let count = ScalingPolicy.workersToLaunch(
                waitingAgents: waiting.count, freeSlots: free, workers: workers.count,
                launchesInFlight: launching, limits: limits, recentScaleUps: streak)
            if count > 0, let launcher {
                scaleUps.record(at: .now)
                logger.info("Scaling up", metadata: ["launching": "\(count)", "waiting": "\(waiting.count)", "streak": "\(streak)"])
                for _ in 0..<count {
                    _ = try await launcher.launch()
                    metrics.launches.increment()
                }
            } else if count == 0, launching == 0, workers.count >= limits.maxWorkers {
                await refuseWaiting(reason: "pool \(definition.name) is at max_workers (\(limits.maxWorkers)) and full")
            } else if launcher == nil, count > 0 {
                logger.info("Pool needs workers; waiting for the orchestrator (launcher: external)", metadata: ["missing": "\(count)"])
            }
        } catch let error as LaunchError {
            // Nothing is on the way to host them: tell the callers now rather than at their deadline.
            if await launcher?.inFlight ?? 0 == 0 {
                await refuseWaiting(reason: "no worker could be started for pool \(definition.name) (\(error.message))")
            }
        } catch {
            failed(error, "Scaling failed")
        }
    }
}
