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

    init(identity: WorkerIdentity, registry: PoolRegistry, host: AgentHost, logger: Logger) {
        self.identity = identity
        self.registry = registry
        self.host = host
        self.logger = logger
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
        do {
            // Taken before the heartbeat, so an agent claimed meanwhile is not mistaken for one
            // the registry dropped.
            let hosted = await host.hostedSnapshot()
            if let attributed = try await registry.heartbeat(processID: identity.processID) {
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

    private func register() async {
        do {
            try await registry.register(identity)
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
