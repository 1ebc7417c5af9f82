#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Metrics
import PoolProtocol
import Registry

/// This worker's entry in the registry. It registers only once its command subscription is
/// confirmed, so that the first `start_agent` a manager sends after `worker_registered`
/// cannot be missed, and it re-registers when a heartbeat finds the entry gone.
actor WorkerRegistration {
    private let identity: WorkerIdentity
    private let registry: PoolRegistry
    private let host: AgentHost
    private let logger: Logger
    /// When the last heartbeat reached the registry (Unix seconds): its age is
    /// `time() - agentpool_worker_last_heartbeat_timestamp_seconds` in PromQL.
    private let lastHeartbeat = Gauge(label: "agentpool_worker_last_heartbeat_timestamp_seconds")
    private(set) var isRegistered = false
    /// When the last heartbeat (or registration) that reached the registry was sent.
    private var lastContact = ContinuousClock.now
    /// Without contact for this long the worker fences itself off (see `watchContact`).
    private let fenceAfter: Duration
    /// Where the worker is in fencing itself off for lack of contact.
    private var fence = Fence.none

    private enum Fence {
        case none
        /// Its agents are being stopped; it must not register again before that ends.
        case stopping
        /// Its agents are stopped; the next heartbeat that gets through registers afresh.
        case stopped
    }

    /// - Parameter staleAfter: the pool's `stale_after`; `heartbeatInterval` its heartbeat.
    init(identity: WorkerIdentity, registry: PoolRegistry, host: AgentHost, staleAfter: Duration, heartbeatInterval: Duration, logger: Logger) {
        self.identity = identity
        self.registry = registry
        self.host = host
        self.fenceAfter = Self.fenceAfter(staleAfter: staleAfter, heartbeatInterval: heartbeatInterval)
        self.logger = logger
    }

    /// Two heartbeats before `stale_after` (but at least half of it): a manager declares this
    /// worker dead only after `stale_after` without a heartbeat, and places its agents again,
    /// so the worker must have stopped them by then or they would run twice.
    static func fenceAfter(staleAfter: Duration, heartbeatInterval: Duration) -> Duration {
        max(staleAfter - heartbeatInterval * 2, staleAfter / 2)
    }

    /// Fences the worker off once it has gone `fenceAfter` without reaching the registry (Redis
    /// cut off, or this process was paused): it stops its agents and starts none until a
    /// heartbeat gets through again. Checked on a timer of its own, since a heartbeat may
    /// itself hang for its whole command timeout.
    func watchContact() async {
        guard isRegistered, case .none = fence, ContinuousClock.now - lastContact > fenceAfter else { return }
        fence = .stopping
        logger.warning(
            "No contact with the registry for too long: stopping local agents until it answers again",
            metadata: ["fence_after": "\(fenceAfter)"])
        await host.fence()
        fence = .stopped
    }

    /// The command subscription is (again) in place: register the first time, afterwards
    /// check that the entry survived the disconnection.
    func subscribed() async {
        if isRegistered {
            await beat()
        } else {
            await register()
        }
    }

    /// One heartbeat. A heartbeat that finds the registration gone means a manager declared
    /// this worker dead: its agents may already run elsewhere, so they stop here first, and
    /// the worker registers afresh. Otherwise any agent the registry no longer attributes to
    /// this worker stops here too: it would run unseen, and keep the worker from retiring.
    func beat() async {
        guard isRegistered else { return }
        // After a pause longer than `fenceAfter` (SIGSTOP, a stalled VM) the heartbeat loop may
        // wake before the watchdog: fence first, so that agents a manager may already have
        // placed elsewhere stop before this worker looks alive again.
        await watchContact()
        await host.retryUnrecorded()
        switch fence {
        case .none: break
        case .stopping: return
        case .stopped:
            await rejoin()
            return
        }
        do {
            // Taken before the heartbeat, so an agent claimed meanwhile is not mistaken for one
            // the registry dropped.
            let hosted = await host.hostedSnapshot()
            let sent = ContinuousClock.now
            if let attributed = try await registry.heartbeat(processID: identity.processID) {
                lastContact = max(lastContact, sent)
                lastHeartbeat.record(Date().timeIntervalSince1970)
                await host.stopUnattributed(hosted, attributed: attributed)
                return
            }
            logger.warning("Registration gone (declared dead, or Redis lost its data): stopping local agents, registering afresh")
            await host.abandonAll()
            isRegistered = false
            await register()
        } catch {
            logger.warning("Heartbeat failed", metadata: ["error": "\(error)"])
        }
    }

    /// After fencing itself off: the registry may still place the stopped agents here (no
    /// manager noticed), so the worker removes its whole entry, which frees them for
    /// placement, then registers afresh and takes agents again.
    private func rejoin() async {
        do {
            try await registry.deregister(processID: identity.processID)
        } catch {
            logger.warning("Registry still unreachable; staying fenced", metadata: ["error": "\(error)"])
            return
        }
        isRegistered = false
        await register()
        guard isRegistered else { return }
        fence = .none
        await host.lift()
        logger.info("Registry reachable again: registered afresh")
    }

    private func register() async {
        do {
            let sent = ContinuousClock.now
            try await registry.register(identity)
            lastContact = max(lastContact, sent)
            isRegistered = true
            lastHeartbeat.record(Date().timeIntervalSince1970)  // registering writes the first heartbeat
            try await registry.publish(.workerRegistered(WorkerEvent(processID: identity.processID)), on: .events)
            logger.info("Worker registered", metadata: ["max_agents": "\(identity.maxAgents)", "pid": "\(identity.pid)"])
        } catch {
            logger.warning("Registration failed; retrying with the next heartbeat", metadata: ["error": "\(error)"])
        }
    }

    /// Retries a registration that failed (Redis was away) on the heartbeat timer.
    func retryIfNeeded() async {
        if !isRegistered { await register() }
    }
}
