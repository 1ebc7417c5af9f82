import Foundation
import Logging
import PoolProtocol
import Postgres
import Redis
import TestSupport

/// A gateway and a manager on the real servers, serving pools with names unique to one test,
/// so tests never see each other's keys or rows. `shutdown()` stops every process it started
/// (workers included, found through the registry) and removes the pools' keys.
final class TestStack: @unchecked Sendable {
    let environment: TestEnvironment
    let pools: [String]
    let directory: String
    let configPath: String
    let redis: RedisClient
    let postgres: PostgresClient
    var http: HTTPClient
    private(set) var services: [ServiceProcess] = []
    private var gatewayPort = 0

    /// - Parameter poolYAML: the pool entries, with `{pool}`/`{pool2}` standing for the unique names.
    init(name: String, poolYAML: String, defaults: String = TestStack.fastDefaults, poolCount: Int = 1, redisURL: String? = nil) throws {
        var environment = try TestEnvironment.load()
        if let redisURL { environment.redisURL = redisURL }
        self.environment = environment
        let suffix = String(Identifier.make().prefix(8))
        pools = (0..<poolCount).map { "t\(suffix)_\($0)" }
        directory = NSTemporaryDirectory() + "agentpool-\(name)-\(suffix)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var yaml = "defaults:\n\(defaults)\npools:\n\(poolYAML)"
        yaml = yaml.replacingOccurrences(of: "{pool}", with: pools[0])
        if pools.count > 1 { yaml = yaml.replacingOccurrences(of: "{pool2}", with: pools[1]) }
        configPath = directory + "/pool.yaml"
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        let logger = Logger(label: "test")
        redis = RedisClient(configuration: try RedisConfiguration(url: environment.redisURL), logger: logger)
        postgres = PostgresClient(configuration: try PostgresConfiguration(url: environment.postgresDirectURL), logger: logger)
        http = HTTPClient(baseURL: "")
    }

    /// Runs `body` with a fresh stack and always shuts it down, also when `body` throws.
    static func with(
        name: String, poolYAML: String, defaults: String = TestStack.fastDefaults, poolCount: Int = 1,
        redisURL: String? = nil, _ body: (TestStack) async throws -> Void
    ) async throws {
        let stack = try TestStack(name: name, poolYAML: poolYAML, defaults: defaults, poolCount: poolCount, redisURL: redisURL)
        do {
            try await body(stack)
        } catch {
            await stack.shutdown()
            throw error
        }
        await stack.shutdown()
    }

    /// Timing with room for 2 shared cores: heartbeats every 0.5 s, dead after 3 s.
    static let fastDefaults = """
          max_agents_per_process: 10
          heartbeat_interval: 0.5
          stale_after: 3
          min_workers: 1
          max_workers: 5
          idle_timeout: 600
        """

    /// Starts the manager (all pools of the file) and waits for `min_workers` of each pool.
    func startManager(label: String = "manager", minimumWorkers: Int = 1, arguments: [String] = []) async throws {
        let manager = try ServiceProcess(
            name: "\(directory.split(separator: "/").last!)-\(label)", executable: environment.executable("manager"),
            arguments: ["--config", configPath] + arguments, environment: environment.serviceEnvironment,
            logDirectory: environment.logDirectory)
        services.append(manager)
        for pool in pools {
            try await Poll.until("a manager to lead \(pool)") {
                try await self.redis.send("EXISTS", RedisKeys.poolLeader(pool)).int == 1
            }
            let waited = try await Poll.until("\(minimumWorkers) worker(s) of \(pool) to register") {
                try await self.redis.send("ZCARD", RedisKeys.poolProcesses(pool)).int ?? 0 >= minimumWorkers
            }
            print("[\(label)] \(pool): \(minimumWorkers) worker(s) registered after \(waited)")
        }
    }

    /// Starts a gateway on a free port and waits until `/readyz` answers 200.
    func startGateway(apiKeys: String? = nil, spawnTimeout: Double? = nil) async throws {
        gatewayPort = try Loopback.freePort()
        var environment = environment.serviceEnvironment
        environment["GATEWAY_PORT"] = String(gatewayPort)
        if let apiKeys { environment["API_KEYS"] = apiKeys }
        if let spawnTimeout { environment["SPAWN_TIMEOUT"] = String(spawnTimeout) }
        let gateway = try ServiceProcess(
            name: "\(directory.split(separator: "/").last!)-gateway-\(gatewayPort)", executable: self.environment.executable("gateway"),
            arguments: ["--config", configPath], environment: environment, logDirectory: self.environment.logDirectory)
        services.append(gateway)
        http = HTTPClient(baseURL: "http://127.0.0.1:\(gatewayPort)", apiKey: apiKeys?.split(separator: ",").first.map(String.init))
        let client = http
        try await Poll.until("the gateway to be ready") { try await client.get("/readyz").status == 200 }
    }

    /// Process ids and pids of the pool's registered workers.
    func workerPIDs(_ pool: String) async throws -> [String: Int32] {
        let ids = try await redis.send("ZRANGE", RedisKeys.poolProcesses(pool), "0", "-1").array?.compactMap(\.string) ?? []
        var result: [String: Int32] = [:]
        for id in ids {
            if let pid = try await redis.send("HGET", RedisKeys.process(id), "pid").int { result[id] = Int32(pid) }
        }
        return result
    }

    /// Stops gateway and managers (SIGTERM), then the workers they launched, then removes the
    /// pools' keys and rows.
    func shutdown() async {
        for service in services.reversed() { await service.stop() }
        for pool in pools {
            let pids = (try? await workerPIDs(pool)) ?? [:]
            for pid in pids.values { kill(pid, SIGTERM) }
            _ = try? await Poll.until("workers of \(pool) to exit", timeout: .seconds(15)) {
                pids.values.allSatisfy { !ProcessState.isRunning($0) }
            }
            for pid in pids.values { kill(pid, SIGKILL) }
            if let keys = try? await redis.send("KEYS", "pool:\(pool):*").array?.compactMap(\.string), !keys.isEmpty {
                _ = try? await redis.send(["DEL"] + keys)
            }
            // The agents' task streams, then their rows and their tasks'.
            let agents = (try? await postgres.query("SELECT id::text AS id FROM agents WHERE pool_name = $1", [pool]))?.rows
                .compactMap { $0["id"] } ?? []
            if !agents.isEmpty { _ = try? await redis.send(["DEL"] + agents.map(RedisKeys.agentTasks)) }
            _ = try? await postgres.query("DELETE FROM tasks WHERE pool_name = $1", [pool])
            _ = try? await postgres.query("DELETE FROM agents WHERE pool_name = $1", [pool])
        }
        await redis.close()
        await postgres.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

extension TestStack {
    /// `POST /api/v1/agents/pools/{pool}/agents`.
    func spawn(_ pool: String? = nil, body: String? = nil, idempotencyKey: String? = nil) async throws -> HTTPClient.Reply {
        var headers: [String: String] = [:]
        if let idempotencyKey { headers["Idempotency-Key"] = idempotencyKey }
        return try await http.send(
            "POST", "/api/v1/agents/pools/\(pool ?? pools[0])/agents", body: body.map { Data($0.utf8) }, headers: headers)
    }

    /// Free-slot scores of the pool's workers, highest first.
    func scores(_ pool: String? = nil) async throws -> [Int] {
        let flat = try await redis.send("ZREVRANGE", RedisKeys.poolProcesses(pool ?? pools[0]), "0", "-1", "WITHSCORES").array ?? []
        return stride(from: 1, to: flat.count, by: 2).compactMap { flat[$0].string.flatMap(Int.init) }
    }

    /// `GET /api/v1/agents/pools/{pool}` as a dictionary.
    func poolStats(_ pool: String? = nil) async throws -> [String: Any] {
        let reply = try await http.get("/api/v1/agents/pools/\(pool ?? pools[0])")
        guard reply.status == 200, let object = try reply.json() as? [String: Any] else {
            throw SetupError("pool stats answered \(reply.status): \(reply.text.prefix(200))")
        }
        return object
    }

    /// Every Redis key that mentions `id` (agent or process), to prove nothing is left behind.
    func keysMentioning(_ id: String) async throws -> [String] {
        var found = try await redis.send("KEYS", "*\(id)*").array?.compactMap(\.string) ?? []
        for pool in pools {
            for setKey in [RedisKeys.poolAgents(pool)] where try await redis.send("SISMEMBER", setKey, id).int == 1 {
                found.append(setKey)
            }
            if try await redis.send("ZSCORE", RedisKeys.poolProcesses(pool), id).isNull == false {
                found.append(RedisKeys.poolProcesses(pool))
            }
        }
        return found
    }
}

extension TestStack {
    /// Whether each agent runs exactly once: PostgreSQL says `running` on a worker, that worker
    /// is registered and lists the agent, `agent:<id>` names it, and no other worker lists it.
    func allRunningExactlyOnce(_ agentIDs: [String], notOn excluded: String? = nil) async throws -> Bool {
        for agentID in agentIDs {
            let rows = try await postgres.query(
                "SELECT status, process_id::text AS process_id, pool_name FROM agents WHERE id = $1::uuid", [agentID])
            guard let row = rows.rows.first, row["status"] == "running", let processID = row["process_id"],
                  let pool = row["pool_name"], processID != excluded
            else { return false }
            guard try await redis.send("HGET", RedisKeys.agent(agentID), "process_id").string == processID else { return false }
            let workers = try await workerPIDs(pool)
            guard let pid = workers[processID], ProcessState.isRunning(pid) else { return false }
            var hosts = 0
            for worker in workers.keys {
                hosts += try await redis.send("SISMEMBER", RedisKeys.processAgents(worker), agentID).int ?? 0
            }
            guard hosts == 1 else { return false }
        }
        return true
    }
}

extension TestStack {
    /// The chaos invariant for one pool: every agent whose desired state is `running` runs
    /// exactly once; agents that should not run have no registry key; every registered worker
    /// is a live process; every `agent:<id>` names a registered worker.
    func poolIsConsistent(_ pool: String? = nil) async throws -> Bool {
        let pool = pool ?? pools[0]
        let rows = try await postgres.query(
            "SELECT id::text AS id, desired_state, status FROM agents WHERE pool_name = $1", [pool])
        let shouldRun = rows.rows.filter { $0["desired_state"] == "running" }.compactMap { $0["id"] }
        let stopped = rows.rows.filter { $0["desired_state"] == "terminated" }.compactMap { $0["id"] }
        guard try await allRunningExactlyOnce(shouldRun) else { return false }
        for agentID in stopped where try await redis.send("EXISTS", RedisKeys.agent(agentID)).int != 0 {
            return false
        }
        let workers = try await workerPIDs(pool)
        guard workers.values.allSatisfy({ ProcessState.isRunning($0) }) else { return false }
        let placed = try await redis.send("SMEMBERS", RedisKeys.poolAgents(pool)).array?.compactMap(\.string) ?? []
        for agentID in placed {
            guard let processID = try await redis.send("HGET", RedisKeys.agent(agentID), "process_id").string,
                  workers[processID] != nil
            else { return false }
        }
        return Set(placed) == Set(shouldRun)
    }
}

extension TestStack {
    /// Starts a worker the way an orchestrator would (`launcher: external`), outside any
    /// manager. Keep the returned process alive for as long as the worker should run.
    func startWorker(
        label: String, processID: String = Identifier.make(), arguments: [String] = [],
        environment overrides: [String: String] = [:]
    ) throws -> ServiceProcess {
        try ServiceProcess(
            name: "\(pools[0])-worker-\(label)-\(processID.prefix(8))", executable: environment.executable("worker"),
            arguments: ["--pool", pools[0], "--config", configPath, "--process-id", processID] + arguments,
            environment: environment.serviceEnvironment.merging(overrides) { $1 }, logDirectory: environment.logDirectory)
    }
}
