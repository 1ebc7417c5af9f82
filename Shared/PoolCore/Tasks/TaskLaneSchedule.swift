#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One agent's tasks as the worker hosting it knows them, and the one rule of their order
/// (contract section 5): tasks start by `seq`, at most `concurrency` at once, and a task
/// waiting out a retry backoff keeps its place, so none behind it overtakes it.
///
/// A pure value: the worker's lane feeds it what PostgreSQL and the task stream said and does
/// what `next(now:)` answers.
public struct TaskLaneSchedule: Sendable, Equatable {
    /// What to do now.
    public enum Decision: Sendable, Equatable {
        /// Start this task's next attempt.
        case start(taskID: String)
        /// The next task in line waits out its backoff until then.
        case wait(until: Date)
        /// Every slot is taken, or nothing is queued.
        case idle
    }

    /// What a delivery from the stream tells.
    public enum Delivery: Sendable, Equatable {
        /// Nothing new: the task is known already.
        case known
        /// A new task, queued behind the known ones.
        case queued
        /// A task whose number does not follow the known ones: others may be missing, so the
        /// lane reads the agent's unfinished tasks from PostgreSQL before it starts anything.
        case needsRefresh
    }

    public let concurrency: Int
    /// Queued tasks by `seq`, each with the end of its backoff.
    public private(set) var queued: [Int: Queued] = [:]
    /// Tasks with an attempt in flight (or one whose answer is still awaited), by task id.
    public private(set) var running: Set<String> = []
    /// The highest `seq` known complete: every task up to it is known here or final. Nil until
    /// PostgreSQL was read once.
    public private(set) var knownThrough: Int?
    /// Set while the lane must read PostgreSQL before it starts anything.
    public private(set) var needsRefresh = true

    public struct Queued: Sendable, Equatable {
        public var taskID: String
        public var notBefore: Date?
    }

    public init(concurrency: Int) {
        self.concurrency = max(1, concurrency)
    }

    /// The agent's unfinished tasks as PostgreSQL held them when it was read (`queued` ones
    /// with their backoff; `highestSeq`, the highest number among all unfinished ones): replaces
    /// what was known of queued tasks up to that number. Tasks numbered above it stay: they
    /// were delivered after the read began, and dropping them would leave them waiting for the
    /// next sweep.
    public mutating func refreshed(queued tasks: [(taskID: String, seq: Int, notBefore: Date?)], highestSeq: Int) {
        queued = queued.filter { $0.key > highestSeq }
        for task in tasks where !running.contains(task.taskID) {
            queued[task.seq] = Queued(taskID: task.taskID, notBefore: task.notBefore)
        }
        knownThrough = max(knownThrough ?? 0, highestSeq)
        needsRefresh = false
    }

    /// A delivery of task `seq` arrived.
    public mutating func delivered(taskID: String, seq: Int) -> Delivery {
        if running.contains(taskID) || queued[seq]?.taskID == taskID { return .known }
        guard let knownThrough, !needsRefresh else {
            needsRefresh = true
            return .needsRefresh
        }
        if seq <= knownThrough {
            // Older than what is known: final by now, or handed back (a sweep finds those).
            return .known
        }
        guard seq == knownThrough + 1 else {
            needsRefresh = true
            return .needsRefresh
        }
        queued[seq] = Queued(taskID: taskID, notBefore: nil)
        self.knownThrough = seq
        return .queued
    }

    /// What to do now.
    public func next(now: Date) -> Decision {
        guard !needsRefresh, running.count < concurrency, let first = queued.keys.min(), let head = queued[first] else {
            return .idle
        }
        if let notBefore = head.notBefore, notBefore > now { return .wait(until: notBefore) }
        return .start(taskID: head.taskID)
    }

    /// The task's attempt started.
    public mutating func started(taskID: String) {
        if let seq = seq(of: taskID) { queued[seq] = nil }
        running.insert(taskID)
    }

    /// The task may not start before `date` (PostgreSQL said so); it keeps its place.
    public mutating func notBefore(taskID: String, _ date: Date) {
        if let seq = seq(of: taskID) { queued[seq]?.notBefore = date }
    }

    /// The task's slot is free: its attempt ended, or it turned out final or not this lane's.
    /// With `requeued`, it waits for another attempt (after a backoff), in its old place.
    public mutating func ended(taskID: String, requeued: (seq: Int, notBefore: Date?)? = nil) {
        running.remove(taskID)
        if let seq = seq(of: taskID) { queued[seq] = nil }
        if let requeued { queued[requeued.seq] = Queued(taskID: taskID, notBefore: requeued.notBefore) }
    }

    /// Everything queued is forgotten until PostgreSQL is read again (the lane could not
    /// reach it, or lost track).
    public mutating func invalidate() {
        needsRefresh = true
    }

    /// Whether the task waits here for its next attempt.
    public func isQueued(_ taskID: String) -> Bool {
        seq(of: taskID) != nil
    }

    private func seq(of taskID: String) -> Int? {
        queued.first { $0.value.taskID == taskID }?.key
    }
}
