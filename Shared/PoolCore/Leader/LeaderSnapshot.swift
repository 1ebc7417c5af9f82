#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolProtocol

/// What one reconcile pass reads, in this order: the registry's placements, then its
/// workers, then the agents table. (A worker that registers and claims agents in between then
/// appears among the workers, so its agents are never taken for orphans; a row exists before
/// its agent can be placed, so every placement read has its row read too.)
public struct LeaderSnapshot: Sendable, Hashable {
    /// Wall-clock time of the read, to age heartbeats (the only wall-clock value the machine
    /// sees; its own timers run on the monotonic time passed with each event).
    public var readAt: Date
    /// Every registered worker of the pool with its free-slot score.
    public var workers: [WorkerSnapshot]
    /// Agent id → the worker the registry places it on (`agent:<id>` `process_id`).
    public var placements: [String: String]
    /// Rows whose desired state is `running`, oldest first.
    public var shouldRun: [Row]
    /// Rows a DELETE asked to stop that are not terminated yet.
    public var stopping: [StoppingRow]
    /// Agents with a live reservation on a registered worker (`process:<id>:reserved`), whoever
    /// made it: a gateway places fresh spawns itself, so a slot held for one the leader never
    /// saw must not make the leader place that agent a second time before the worker claims it
    /// (or the reservation expires).
    public var reservations: Set<String>

    public init(
        readAt: Date, workers: [WorkerSnapshot], placements: [String: String], shouldRun: [Row], stopping: [StoppingRow],
        reservations: Set<String> = []
    ) {
        self.readAt = readAt
        self.workers = workers
        self.placements = placements
        self.shouldRun = shouldRun
        self.stopping = stopping
        self.reservations = reservations
    }

    /// An agent that should run.
    public struct Row: Sendable, Hashable {
        public var spec: AgentSpec
        /// The worker the row names (`process_id`), nil once unplaced.
        public var processID: String?
        /// Whether a worker ever confirmed it running: such an agent is never refused.
        public var wasConfirmed: Bool

        public init(spec: AgentSpec, processID: String?, wasConfirmed: Bool) {
            self.spec = spec
            self.processID = processID
            self.wasConfirmed = wasConfirmed
        }
    }

    /// An agent being stopped.
    public struct StoppingRow: Sendable, Hashable {
        public var agentID: String
        public var processID: String?

        public init(agentID: String, processID: String?) {
            self.agentID = agentID
            self.processID = processID
        }
    }
}
