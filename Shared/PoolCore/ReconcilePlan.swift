/// What a reconcile pass must repair: the difference between what PostgreSQL says should
/// run and what the Redis registry says runs. Pub/sub is only the fast path; this plan is
/// what guarantees that a lost message, a crash between two steps or an emptied Redis
/// costs a delay, never an agent.
public struct ReconcilePlan: Sendable, Hashable {
    /// Agents that should run but are neither placed on a live worker nor reserved.
    public var toPlace: [String]
    /// Agents placed on a live worker that should not run any more.
    public var toStop: [Placement]
    /// Registry entries that point at a worker that is gone; they are cleared (and the
    /// agent, if it should run, is in `toPlace`).
    public var orphaned: [Placement]

    /// An agent and the worker the registry places it on.
    public struct Placement: Sendable, Hashable {
        public var agentID: String
        public var processID: String
        public init(agentID: String, processID: String) {
            self.agentID = agentID
            self.processID = processID
        }
    }

    /// The plan for one pool.
    /// - Parameters:
    ///   - shouldRun: agent ids whose desired state is `running`.
    ///   - placed: agent id to process id, from the registry.
    ///   - reserved: agent ids with a slot reserved (a start command in flight).
    ///   - liveWorkers: registered workers not declared dead.
    public static func make(
        shouldRun: Set<String>, placed: [String: String], reserved: Set<String>, liveWorkers: Set<String>
    ) -> ReconcilePlan {
        var plan = ReconcilePlan(toPlace: [], toStop: [], orphaned: [])
        for (agentID, processID) in placed.sorted(by: { $0.key < $1.key }) {
            let placement = Placement(agentID: agentID, processID: processID)
            if !liveWorkers.contains(processID) {
                plan.orphaned.append(placement)
            } else if !shouldRun.contains(agentID) {
                plan.toStop.append(placement)
            }
        }
        plan.toPlace = shouldRun.filter { agentID in
            if reserved.contains(agentID) { return false }
            guard let processID = placed[agentID] else { return true }
            return !liveWorkers.contains(processID)
        }.sorted()
        return plan
    }

    /// Whether there is nothing to repair.
    public var isEmpty: Bool { toPlace.isEmpty && toStop.isEmpty && orphaned.isEmpty }
}
