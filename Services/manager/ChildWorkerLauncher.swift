import Foundation
import Logging
import PoolConfig
import PoolProtocol

/// Starts worker processes for one pool (`launcher: process`) and remembers the launches
/// that have not registered yet, so that scaling counts them as capacity on the way.
/// Launches that fail (the executable does not start, exits before registering, or does not
/// register in time) back off exponentially instead of looping. Children are not tied to the
/// manager's life: a manager that dies leaves them running, and the next leader adopts them
/// through the registry.
actor ChildWorkerLauncher {
    /// What happened to a launched worker, for the leader to act on at once.
    enum Event: Sendable {
        /// The process ended; `registered` tells whether it had joined the pool (then its
        /// agents need placing again) or failed on the way (a launch failure).
        case exited(processID: String, status: Int32, registered: Bool)
        /// It did not register within the time allowed and was stopped.
        case registrationTimedOut(processID: String)
    }

    private let definition: PoolDefinition
    private let executable: String
    private let configPath: String
    private let logger: Logger
    /// Launched, not yet registered: process id → launch time.
    private var pending: [String: ContinuousClock.Instant] = [:]
    private var children: [String: Process] = [:]
    /// Launches given up on (`abandon`): their exit is a failed launch, already counted.
    private var abandoned: Set<String> = []
    private var consecutiveFailures = 0
    private var notBefore: ContinuousClock.Instant?
    private var eventHandler: (@Sendable (Event) async -> Void)?

    init(definition: PoolDefinition, executable: String, configPath: String, logger: Logger) {
        self.definition = definition
        self.executable = executable
        self.configPath = configPath
        self.logger = logger
    }

    /// Launches that have not registered yet.
    var inFlight: Int { pending.count }

    /// Routes events to the current leader (nil when leadership ends).
    func setEventHandler(_ handler: (@Sendable (Event) async -> Void)?) {
        eventHandler = handler
    }

    /// Starts one worker with a fresh process id and returns that id. Throws while backing
    /// off after failed launches, or when the executable cannot be started.
    func launch() throws -> String {
        if let notBefore, ContinuousClock.now < notBefore {
            throw LaunchError(message: "backing off after \(consecutiveFailures) failed worker launch(es)")
        }
        let processID = Identifier.make()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--pool", definition.name, "--config", configPath, "--process-id", processID]
            + definition.workerArguments
        process.terminationHandler = { process in
            let status = process.terminationStatus
            Task { await self.exited(processID, status: status) }
        }
        do {
            try process.run()
        } catch {
            recordFailure()
            throw LaunchError(message: "cannot start \(executable): \(error.localizedDescription)")
        }
        pending[processID] = .now
        children[processID] = process
        logger.info("Launched worker", metadata: ["process_id": "\(processID)", "pid": "\(process.processIdentifier)"])
        return processID
    }

    /// A worker registered: its launch is complete and the backoff resets.
    func registered(_ processID: String) {
        guard pending.removeValue(forKey: processID) != nil else { return }
        consecutiveFailures = 0
        notBefore = nil
    }

    /// Whether this manager launched `processID` and it still runs.
    func isOwnChild(_ processID: String) -> Bool { children[processID]?.isRunning == true }

    /// Kills a child this manager launched that was declared dead: it stopped answering, so it
    /// gets no chance to run anything further.
    func killIfOwnChild(_ processID: String) {
        guard let child = children[processID], child.isRunning else { return }
        kill(child.processIdentifier, SIGKILL)
        logger.warning("Killed unresponsive worker process", metadata: ["process_id": "\(processID)", "pid": "\(child.processIdentifier)"])
    }

    /// Stops a launch the leader gave up on (it did not register in time): it counts as a
    /// failure, and its exit is not reported as a registered worker's.
    func abandon(_ processID: String) {
        guard pending.removeValue(forKey: processID) != nil else { return }
        if let child = children[processID], child.isRunning {
            abandoned.insert(processID)
            child.terminate()
        }
        recordFailure()
        logger.error("Worker did not register in time; stopped it", metadata: ["process_id": "\(processID)"])
    }

    private func exited(_ processID: String, status: Int32) async {
        children.removeValue(forKey: processID)
        if abandoned.remove(processID) != nil {
            await eventHandler?(.exited(processID: processID, status: status, registered: false))
            return
        }
        let registered = pending.removeValue(forKey: processID) == nil
        if registered {
            logger.info("Worker process exited", metadata: ["process_id": "\(processID)", "status": "\(status)"])
        } else {
            recordFailure()
            logger.error("Worker exited before registering", metadata: ["process_id": "\(processID)", "status": "\(status)"])
        }
        await eventHandler?(.exited(processID: processID, status: status, registered: registered))
    }

    /// 1 s after the first failure, doubling up to a minute.
    private func recordFailure() {
        consecutiveFailures += 1
        let delay = min(Duration.seconds(60), .seconds(1) * (1 << min(consecutiveFailures - 1, 6)))
        notBefore = .now + delay
        logger.warning("Worker launch failed; next launch no sooner than \(delay)", metadata: ["failures": "\(consecutiveFailures)"])
    }

    /// The worker executable: the pool's `worker_path`, else `worker` beside this manager.
    static func workerExecutable(for definition: PoolDefinition, override: String?) -> String {
        if let path = override ?? definition.workerPath { return path }
        let manager = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: manager).deletingLastPathComponent().appendingPathComponent("worker").path
    }
}

/// Why no worker could be launched.
struct LaunchError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
