#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolCore
import PoolProtocol

/// A leader machine driven by hand, with a clock that only moves when a test says so.
struct LeaderHarness {
    var machine: LeaderStateMachine
    let start = ContinuousClock.now
    /// Seconds since `start`; also the wall clock (`wallStart` + elapsed) for heartbeats.
    var elapsed: Duration = .zero
    static let wallStart = Date(timeIntervalSince1970: 1_700_000_000)

    init(epoch: Int = 7, limits: PoolLimits = .test(), launcher: LeaderTuning.Launcher = .process, configure: (inout LeaderTuning) -> Void = { _ in }) {
        var tuning = LeaderTuning(launcher: launcher)
        configure(&tuning)
        machine = LeaderStateMachine(epoch: epoch, limits: limits, tuning: tuning, now: start)
    }

    var now: ContinuousClock.Instant { start + elapsed }
    var wallNow: Date { Self.wallStart.addingTimeInterval(elapsed.seconds) }

    /// Handles `event` now and returns the kinds of the actions (each checked to carry the epoch).
    @discardableResult
    mutating func send(_ event: LeaderEvent) -> [LeaderAction.Kind] {
        let actions = machine.handle(event, at: now)
        precondition(actions.allSatisfy { $0.epoch == machine.epoch }, "an action without the machine's epoch")
        return actions.map(\.kind)
    }

    mutating func advance(_ duration: Duration) { elapsed += duration }

    /// Starts leading and, two heartbeat intervals later (no launch comes sooner), answers
    /// the first pass with `snapshot`.
    @discardableResult
    mutating func lead(with snapshot: LeaderSnapshot) -> [LeaderAction.Kind] {
        send(.leadershipStarted)
        advance(machine.limits.heartbeatInterval * 2)
        return send(.snapshotRead(snapshot))
    }

    /// A snapshot read now.
    func snapshot(
        workers: [WorkerSnapshot] = [], placements: [String: String] = [:], shouldRun: [LeaderSnapshot.Row] = [],
        stopping: [LeaderSnapshot.StoppingRow] = []
    ) -> LeaderSnapshot {
        LeaderSnapshot(readAt: wallNow, workers: workers, placements: placements, shouldRun: shouldRun, stopping: stopping)
    }

    /// A worker as the registry shows it, heartbeating `heartbeatAge` ago.
    func worker(
        _ id: String, free: Int, hosted: Int = 0, status: WorkerStatus = .ready, heartbeatAge: Duration = .zero,
        startedSecondsAgo: Double = 1000
    ) -> WorkerSnapshot {
        WorkerSnapshot(
            processID: id, poolName: "developer_pool", pid: 1, host: "h", maxAgents: machine.limits.maxAgentsPerProcess,
            agentCount: hosted, freeSlots: free, status: status, startedAt: wallNow.addingTimeInterval(-startedSecondsAgo),
            lastHeartbeat: wallNow.addingTimeInterval(-heartbeatAge.seconds))
    }
}

extension PoolLimits {
    static func test(slots: Int = 10, minWorkers: Int = 1, maxWorkers: Int = 10, staleAfter: Duration = .seconds(3), idleTimeout: Duration = .seconds(60)) -> PoolLimits {
        PoolLimits(
            poolName: "developer_pool", role: "developer", maxAgentsPerProcess: slots, minWorkers: minWorkers, maxWorkers: maxWorkers,
            heartbeatInterval: .seconds(1), staleAfter: staleAfter, idleTimeout: idleTimeout)
    }
}

extension AgentSpec {
    static func test(_ id: String) -> AgentSpec {
        AgentSpec(agentID: id, name: "agent-\(id)", poolName: "developer_pool", role: "developer", metadata: [:])
    }
}

extension LeaderSnapshot.Row {
    static func row(_ id: String, on processID: String? = nil, confirmed: Bool = false) -> LeaderSnapshot.Row {
        LeaderSnapshot.Row(spec: .test(id), processID: processID, wasConfirmed: confirmed)
    }
}

extension Array where Element == LeaderAction.Kind {
    /// The agents of the `reserveAndStart` actions, in order.
    var reserved: [String] {
        compactMap { if case .reserveAndStart(let spec) = $0 { spec.agentID } else { nil } }
    }
    /// The workers asked for by `launch` actions.
    var launched: Int {
        reduce(0) { if case .launch(let count) = $1 { $0 + count } else { $0 } }
    }
    var refused: [String] {
        compactMap { if case .refuse(let agentID, _) = $0 { agentID } else { nil } }
    }
    var healed: [String] {
        compactMap { if case .heal(let processID, _) = $0 { processID } else { nil } }
    }
}
