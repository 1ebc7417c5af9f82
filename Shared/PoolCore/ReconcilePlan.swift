/// What a reconcile pass must repair: the difference between what PostgreSQL says should
/// run and what the Redis registry says runs. Pub/sub is only the fast path; this plan is
/// what guarantees that a lost message, a crash between two steps or a partial loss of the
/// registry costs a delay, never an agent, and never a second copy of one.
///
/// A placement is real only when both halves of the registry agree: `agent:<id>` names a
/// live worker *and* that worker's `process:<id>:agents` lists the agent. Either half alone
/// is an inconsistency (no script of the registry ever leaves one behind: claims, releases and
/// deregistrations change both in one step), so it comes from a partial loss and is repaired.
public struct ReconcilePlan: Sendable, Hashable {
    /// Agents that should run but are neither really placed on a live worker nor reserved.
    public var toPlace: [String]
    /// Agents really placed on a live worker (or listed by one) that should not run any more.
    public var toStop: [Placement]
    /// Registry entries that point at a worker that is gone; they are cleared (and the
    /// agent, if it should run, is in `toPlace`).
    public var orphaned: [Placement]
    /// `agent:<id>` names a live worker whose set does not list the agent (that worker stops
    /// or already stopped it): the hash is cleared, and the agent, if it should run, is in
    /// `toPlace`.
    public var unattributed: [Placement]
    /// A live worker's set lists an agent that should run but no `agent:<id>` says so: the
    /// hash is restored naming that worker, so that the agent is not started a second time
    /// elsewhere while that worker runs it.
    public var unrecorded: [Placement]
    /// A live worker's set lists an agent that `agent:<id>` places on another live worker that
    /// lists it too: the extra set entry goes, so that the extra copy stops at its worker's
    /// next heartbeat.
    public var duplicates: [Placement]

    /// An agent and the worker the registry places it on.
    public struct Placement: Sendable, Hashable {
        public var agentID: String
        public var processID: String
        public init(agentID: String, processID: String) {
            self.agentID = agentID
            self.processID = processID
        }
    }

    /// Both halves of the registry's placements, as one reconcile pass read them.
    public struct Registry: Sendable, Hashable {
        /// Agent id → the `process_id` of its `agent:<id>` hash.
        public var hashes: [String: String]
        /// Worker id → the members of its `process:<id>:agents` (live workers only).
        public var hosted: [String: Set<String>]
        public init(hashes: [String: String], hosted: [String: Set<String>]) {
            self.hashes = hashes
            self.hosted = hosted
        }
    }

    /// The plan for one pool.
    /// - Parameters:
    ///   - shouldRun: agent ids whose desired state is `running`.
    ///   - registry: both halves of the registry's placements.
    ///   - reserved: agent ids with a slot reserved or waiting for one (in the leader's hands).
    ///   - liveWorkers: registered workers not declared dead.
    public static func make(
        shouldRun: Set<String>, registry: Registry, reserved: Set<String>, liveWorkers: Set<String>
    ) -> ReconcilePlan {
        var plan = ReconcilePlan(toPlace: [], toStop: [], orphaned: [], unattributed: [], unrecorded: [], duplicates: [])
        var real: [String: String] = [:]
        for (agentID, processID) in registry.hashes.sorted(by: { $0.key < $1.key }) {
            let placement = Placement(agentID: agentID, processID: processID)
            if !liveWorkers.contains(processID) {
                plan.orphaned.append(placement)
            } else if registry.hosted[processID]?.contains(agentID) == true {
                real[agentID] = processID
            } else {
                plan.unattributed.append(placement)
            }
        }
        for (processID, agents) in registry.hosted.sorted(by: { $0.key < $1.key }) where liveWorkers.contains(processID) {
            for agentID in agents.sorted() {
                let placement = Placement(agentID: agentID, processID: processID)
                if let holder = real[agentID] {
                    if holder != processID { plan.duplicates.append(placement) }
                } else {
                    // Listed here and really placed nowhere: it runs here (whatever its hash says).
                    real[agentID] = processID
                    if shouldRun.contains(agentID) { plan.unrecorded.append(placement) }
                }
            }
        }
        for (agentID, processID) in real.sorted(by: { $0.key < $1.key }) where !shouldRun.contains(agentID) {
            plan.toStop.append(Placement(agentID: agentID, processID: processID))
        }
        plan.toPlace = shouldRun.filter { !reserved.contains($0) && real[$0] == nil }.sorted()
        return plan
    }

    /// The plan when each placement of `placed` is consistent (both halves agree).
    public static func make(
        shouldRun: Set<String>, placed: [String: String], reserved: Set<String>, liveWorkers: Set<String>
    ) -> ReconcilePlan {
        var hosted: [String: Set<String>] = [:]
        for (agentID, processID) in placed { hosted[processID, default: []].insert(agentID) }
        return make(shouldRun: shouldRun, registry: Registry(hashes: placed, hosted: hosted), reserved: reserved, liveWorkers: liveWorkers)
    }

    /// Whether there is nothing to repair.
    public var isEmpty: Bool {
        toPlace.isEmpty && toStop.isEmpty && orphaned.isEmpty && unattributed.isEmpty && unrecorded.isEmpty && duplicates.isEmpty
    }
}
