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
/// with the registry (what runs). It acts only while its leadership lasts; every command it
/// sends carries its epoch.
actor PoolLeader {
    let definition: PoolDefinition
    let limits: PoolLimits
    let epoch: Int
    let registry: PoolRegistry
    let store: AgentStore
    let launcher: ChildWorkerLauncher?
    let metrics: PoolMetrics
    var logger: Logger

    /// Agents waiting for a free slot, in arrival order.
    var waiting: [AgentSpec] = []
    /// Agents with a reservation and a start command on the way.
    var inFlight: [String: InFlightStart] = [:]
    /// Empty ready workers: process id → since when they were seen empty.
    var emptySince: [String: ContinuousClock.Instant] = [:]
    /// Workers this leader took out of placement to retire.
    var retiring: Set<String> = []
    /// Recent scale-ups, to tell a sustained burst (grow geometrically) from a single one.
    var scaleUps = ScaleUpStreak()

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

    /// The most starts a leader keeps unconfirmed while restoring agents.
    static let maxStartsInFlight = 64

    /// How long a reservation waits for the worker's confirmation before its slot frees.
    static let startTimeout: Duration = .seconds(15)

    init(definition: PoolDefinition, epoch: Int, registry: PoolRegistry, store: AgentStore, launcher: ChildWorkerLauncher?, logger: Logger) {
        self.definition = definition
        self.limits = PoolLimits(definition)
        self.epoch = epoch
        self.registry = registry
        self.store = store
        self.launcher = launcher
        self.metrics = PoolMetrics(pool: definition.name)
        self.logger = logger
        self.logger[metadataKey: "epoch"] = "\(epoch)"
    }

    // MARK: Messages

    /// Acts on one message from the requests or events channel.
    func handle(_ message: PoolMessage) async {
        switch message {
        case .placeAgent(let request):
            guard request.agent.poolName == definition.name else { return }
            await place(request.agent)
        case .terminateAgent(let request):
            await terminate(agentID: request.agentID)
        case .workerRegistered(let event):
            await launcher?.registered(event.processID)
            logger.info("Worker joined", metadata: ["process_id": "\(event.processID)"])
            await placeWaiting()
        case .agentStarted(let event):
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
    func place(_ spec: AgentSpec) async {
        guard inFlight[spec.agentID] == nil, !waiting.contains(where: { $0.agentID == spec.agentID }),
              placing.insert(spec.agentID).inserted
        else { return }
        defer { placing.remove(spec.agentID) }
        do {
            if try await startOnFreeSlot(spec) { return }
            waiting.append(spec)
            await scaleUp()
        } catch {
            logger.error("Placement failed", metadata: ["agent_id": "\(spec.agentID)", "error": "\(error)"])
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
            processID = try await registry.reserveAndStart(spec, epoch: epoch, deadline: deadline)
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

    /// Places waiting agents while slots are free (after a worker joined).
    func placeWaiting() async {
        while let next = waiting.first {
            do {
                guard try await startOnFreeSlot(next) else { break }
                waiting.removeFirst()
            } catch {
                logger.error("Placement failed", metadata: ["agent_id": "\(next.agentID)", "error": "\(error)"])
                break
            }
        }
        if !waiting.isEmpty { await scaleUp() }
    }

    /// Launches the workers the waiting agents need; refuses them when the pool is at
    /// `max_workers` with every slot taken.
    func scaleUp() async {
        guard !waiting.isEmpty else { return }
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
            logger.error("Scaling failed", metadata: ["error": "\(error)"])
        }
    }

    /// Tells the gateways the waiting agents cannot be placed, and removes their rows so that a
    /// refused spawn leaves nothing behind.
    func refuseWaiting(reason: String) async {
        let refused = waiting
        waiting.removeAll()
        metrics.refusals.increment(by: refused.count)
        for spec in refused {
            try? await store.deleteRefused(id: spec.agentID)
            _ = try? await registry.publish(
                .agentFailed(AgentFailed(processID: nil, agentID: spec.agentID, reason: reason, retryable: true)), on: .events)
        }
        logger.warning("Refused spawns: pool full", metadata: ["count": "\(refused.count)"])
    }
}
