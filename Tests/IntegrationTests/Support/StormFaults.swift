import Foundation
import PoolProtocol

/// The storm's faults, at fixed offsets into it so that they overlap the clients' work and
/// each other: a worker killed, another paused past `stale_after`, the leading manager killed
/// (and a manager started again while the paused worker resumes), Redis restarted empty.
enum StormFaults {
    struct Injected: Sendable {
        /// What was done when, for the closing figures.
        var log: [String] = []
        /// Processes the storm killed on purpose.
        var killedPIDs: Set<Int32> = []
    }

    static func inject(_ stack: TestStack, redis: PrivateRedis, started: ContinuousClock.Instant) async throws -> Injected {
        var injected = Injected()
        func at(_ seconds: Double) async throws {
            let due = started + .milliseconds(Int(seconds * 1000))
            if due > .now { try await Task.sleep(until: due) }
        }
        let pool = stack.pools[0]

        try await at(3)
        if let (processID, pid) = try await stack.workerPIDs(pool).randomElement() {
            kill(pid, SIGKILL)
            injected.killedPIDs.insert(pid)
            injected.log.append("3 s: kill -9 worker \(processID.prefix(8))")
        }
        try await at(5)
        var paused: Int32?
        if let (processID, pid) = try await stack.workerPIDs(pool).filter({ ProcessState.isRunning($0.value) }).randomElement() {
            kill(pid, SIGSTOP)
            paused = pid
            injected.log.append("5 s: SIGSTOP worker \(processID.prefix(8)) for 6 s (stale_after 3 s)")
        }
        try await at(8)
        if let leader = stack.leadingManager() {
            kill(leader.pid, SIGKILL)
            injected.killedPIDs.insert(leader.pid)
            injected.log.append("8 s: kill -9 the leading manager (\(leader.name))")
        }
        try await at(11)
        if let paused { kill(paused, SIGCONT) }
        try await stack.startManager(label: "manager-restarted", minimumWorkers: 0)
        injected.log.append("11 s: SIGCONT the paused worker; a manager started again")
        try await at(14)
        await redis.kill()
        try await Task.sleep(for: .milliseconds(500))
        try await redis.start()
        injected.log.append("14 s: Redis killed and restarted empty after 0.5 s")
        return injected
    }
}

extension TestStack {
    /// The running manager that leads now, by its log: its last `Leading pool` line comes after
    /// its last `Leadership ended` line.
    func leadingManager() -> ServiceProcess? {
        services.filter { $0.name.contains("manager") && $0.isRunning }.first { manager in
            let log = manager.log
            guard let led = log.range(of: "Leading pool", options: .backwards) else { return false }
            guard let ended = log.range(of: "Leadership ended", options: .backwards) else { return true }
            return led.lowerBound > ended.lowerBound
        }
    }
}
