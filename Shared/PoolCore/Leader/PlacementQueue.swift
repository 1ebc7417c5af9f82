import PoolProtocol

/// The agents the leader is placing, first come first served: each either waits for a slot
/// or has its one reserve in flight. An agent is in the queue at most once, so it never has
/// two reserves in flight.
struct PlacementQueue: Sendable {
    /// Why the agent is being placed; only a fresh spawn may ever be refused.
    enum Origin: Sendable, Hashable {
        /// A spawn no worker ever confirmed.
        case freshSpawn
        /// An agent that ran before (its worker died or left): it waits, never refused.
        case replacement
    }

    struct Entry: Sendable, Hashable {
        var spec: AgentSpec
        var origin: Origin
        /// The reserve script runs for it; its reply is awaited.
        var isReserving = false
        /// A start command may have reached a worker (a start not confirmed in time, or a
        /// reserve whose answer was lost): it may run, so it is never refused, only placed.
        var mayHaveStarted = false
        /// The machine's event count when it entered, to tell whether a snapshot read after it.
        var admitted: UInt64

        var agentID: String { spec.agentID }
    }

    private(set) var entries: [Entry] = []
    private var ids: Set<String> = []

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }
    var waitingCount: Int { entries.count(where: { !$0.isReserving }) }
    var reservingCount: Int { entries.count(where: \.isReserving) }
    var agentIDs: Set<String> { ids }

    func contains(_ agentID: String) -> Bool { ids.contains(agentID) }

    func entry(_ agentID: String) -> Entry? {
        guard ids.contains(agentID) else { return nil }
        return entries.first { $0.agentID == agentID }
    }

    /// Adds an agent at the back (a new arrival) or the front (one that already waited, such
    /// as a start that was never confirmed). Does nothing when it is already queued.
    mutating func add(_ entry: Entry, atFront: Bool = false) {
        guard ids.insert(entry.agentID).inserted else { return }
        if atFront { entries.insert(entry, at: 0) } else { entries.append(entry) }
    }

    @discardableResult
    mutating func remove(_ agentID: String) -> Entry? {
        guard ids.remove(agentID) != nil, let index = entries.firstIndex(where: { $0.agentID == agentID }) else { return nil }
        return entries.remove(at: index)
    }

    mutating func setReserving(_ agentID: String, _ reserving: Bool) {
        update(agentID) { $0.isReserving = reserving }
    }

    /// Changes an entry in place, keeping its position.
    mutating func update(_ agentID: String, _ change: (inout Entry) -> Void) {
        guard let index = entries.firstIndex(where: { $0.agentID == agentID }) else { return }
        change(&entries[index])
    }

    /// Removes and returns the entries `shouldRemove` picks.
    mutating func removeAll(where shouldRemove: (Entry) -> Bool) -> [Entry] {
        let removed = entries.filter(shouldRemove)
        guard !removed.isEmpty else { return [] }
        entries.removeAll(where: shouldRemove)
        ids.subtract(removed.map(\.agentID))
        return removed
    }
}
