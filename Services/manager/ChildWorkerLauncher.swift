import Foundation
import Logging
import PoolConfig
import PoolProtocol

/// Starts worker processes for one pool (`launcher: process`) and remembers the launches
/// that have not registered yet, so that scaling counts them as capacity on the way.
/// Children are not tied to the manager's life: a manager that dies leaves them running,
/// and the next leader adopts them through the registry.
actor ChildWorkerLauncher {
    private let definition: PoolDefinition
    private let executable: String
    private let configPath: String
    private let logger: Logger
    /// Launched, not yet registered: process id → launch time.
    private var pending: [String: ContinuousClock.Instant] = [:]
    private var children: [String: Process] = [:]

    init(definition: PoolDefinition, executable: String, configPath: String, logger: Logger) {
        self.definition = definition
        self.executable = executable
        self.configPath = configPath
        self.logger = logger
    }

    /// Launches that have not registered yet.
    var inFlight: Int { pending.count }

    /// Starts one worker with a fresh process id and returns that id.
    func launch() throws -> String {
        let processID = Identifier.make()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--pool", definition.name, "--config", configPath, "--process-id", processID]
            + definition.workerArguments
        let logger = logger
        process.terminationHandler = { process in
            logger.info(
                "Worker process exited",
                metadata: ["process_id": "\(processID)", "status": "\(process.terminationStatus)"])
            Task { await self.exited(processID) }
        }
        try process.run()
        pending[processID] = .now
        children[processID] = process
        logger.info("Launched worker", metadata: ["process_id": "\(processID)", "pid": "\(process.processIdentifier)"])
        return processID
    }

    /// A worker registered: its launch is complete.
    func registered(_ processID: String) {
        pending.removeValue(forKey: processID)
    }

    /// Launches older than `timeout` that never registered: stopped and forgotten, so that
    /// scaling launches again. Returns their ids.
    func expireLaunches(olderThan timeout: Duration) -> [String] {
        let expired = pending.filter { ContinuousClock.now - $0.value > timeout }.map(\.key)
        for processID in expired {
            pending.removeValue(forKey: processID)
            if let child = children.removeValue(forKey: processID), child.isRunning { child.terminate() }
            logger.error("Worker did not register in time; stopped it", metadata: ["process_id": "\(processID)"])
        }
        return expired
    }

    private func exited(_ processID: String) {
        pending.removeValue(forKey: processID)
        children.removeValue(forKey: processID)
    }

    /// The worker executable: the pool's `worker_path`, else `worker` beside this manager.
    static func workerExecutable(for definition: PoolDefinition, override: String?) -> String {
        if let path = override ?? definition.workerPath { return path }
        let manager = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: manager).deletingLastPathComponent().appendingPathComponent("worker").path
    }
}
