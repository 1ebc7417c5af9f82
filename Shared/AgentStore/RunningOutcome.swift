#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a worker's `AgentStore.recordRunning` found.
public enum RunningOutcome: Sendable, Hashable {
    /// The row now says `running` on this worker (its `updated_at` after the write).
    /// `firstStart`: the agent had never run anywhere nor been given a task, so there is no
    /// earlier host's work to take over.
    case running(updatedAt: Date, firstStart: Bool)
    /// The agent should no longer run (terminated, failed, or no such row): stop it, release
    /// its registry entry, and announce `agent_stopped`.
    case notWanted
    /// Another worker holds the row `running` (`holder`): this start lost a race or came from
    /// a stale command. Release this worker's registry claim and stop the local copy; do not
    /// announce `agent_stopped` (the agent runs, elsewhere).
    case heldElsewhere(holder: String)

    /// The `updated_at` of a recorded start, nil otherwise.
    public var updatedAt: Date? {
        if case .running(let updatedAt, _) = self { updatedAt } else { nil }
    }
}
