import Foundation
import Logging
import PoolProtocol
import Redis
import Testing
import TestSupport

/// The compose stack's Redis ACL (deploy/redis/users.acl, rendered by
/// deploy/redis/render-acl.sh as the Redis container does) on a private Redis: the gateway,
/// a manager and a worker each log in as their own user, spawn and terminate work end to end,
/// and each user is refused what it does not need.
@Suite(.serialized) struct RedisACLTests {
    static let passwords = ["gateway": "gw-\(UUID().uuidString)", "manager": "mg-\(UUID().uuidString)",
                            "worker": "wk-\(UUID().uuidString)", "admin": "ad-\(UUID().uuidString)"]

    static func url(_ user: String, port: Int) -> String { "redis://\(user):\(passwords[user]!)@127.0.0.1:\(port)/0" }

    /// Renders the ACL file with the repository's own script.
    static func renderACL(repository: String, into directory: String) throws -> String {
        let output = directory + "/users.acl"
        let render = Process()
        render.executableURL = URL(fileURLWithPath: "/bin/sh")
        render.arguments = ["\(repository)/deploy/redis/render-acl.sh", "\(repository)/deploy/redis/users.acl", output]
        var environment = ProcessInfo.processInfo.environment
        environment["REDIS_GATEWAY_PASSWORD"] = passwords["gateway"]
        environment["REDIS_MANAGER_PASSWORD"] = passwords["manager"]
        environment["REDIS_WORKER_PASSWORD"] = passwords["worker"]
        environment["REDIS_PASSWORD"] = passwords["admin"]
        render.environment = environment
        try render.run()
        render.waitUntilExit()
        guard render.terminationStatus == 0 else { throw SetupError("render-acl.sh exited \(render.terminationStatus)") }
        return output
    }

    @Test(.timeLimit(.minutes(3)))
    func everyServiceWorksWithItsOwnLeastPrivilegeUser() async throws {
        let environment = try TestEnvironment.load()
        let directory = NSTemporaryDirectory() + "agentpool-acl-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let aclFile = try Self.renderACL(repository: environment.repository, into: directory)
        let redis = try PrivateRedis(logDirectory: environment.logDirectory, extraArguments: ["--aclfile", aclFile])
        try await redis.start()
        let port = redis.port
        let pool = "  - name: {pool}\n    role: developer\n    launcher: external\n"
        try await TestStack.with(name: "acl", poolYAML: pool, redisURL: Self.url("admin", port: port)) { stack in
            func service(_ name: String, _ arguments: [String], extra: [String: String] = [:]) throws -> ServiceProcess {
                var variables = stack.environment.serviceEnvironment
                variables["REDIS_URL"] = Self.url(name, port: port)
                variables.merge(extra) { $1 }
                return try ServiceProcess(
                    name: "\(stack.pools[0])-acl-\(name)", executable: stack.environment.executable(name),
                    arguments: arguments + ["--config", stack.configPath], environment: variables,
                    logDirectory: stack.environment.logDirectory)
            }
            let manager = try service("manager", [])
            try await Poll.until("the manager (user manager) to lead") {
                try await stack.redis.send("EXISTS", RedisKeys.poolLeader(stack.pools[0])).int == 1
            }
            let worker = try stack.startWorker(label: "acl", environment: ["REDIS_URL": Self.url("worker", port: port)])
            try await Poll.until("the worker (user worker) to register") {
                try await stack.redis.send("ZCARD", RedisKeys.poolProcesses(stack.pools[0])).int == 1
            }
            let gatewayPort = try Loopback.freePort()
            let gateway = try service("gateway", [], extra: ["GATEWAY_PORT": String(gatewayPort)])
            let http = HTTPClient(baseURL: "http://127.0.0.1:\(gatewayPort)")
            try await Poll.until("the gateway (user gateway) to be ready") { try await http.get("/readyz").status == 200 }

            let started = ContinuousClock.now
            let spawn = try await http.send("POST", "/api/v1/agents/pools/\(stack.pools[0])/agents")
            #expect(spawn.status == 201, "\(spawn.text)")
            let agent = try spawn.decode(AgentView.self)
            #expect(agent.status == .running)
            let pools = try await http.get("/api/v1/agents/pools/\(stack.pools[0])")
            #expect(pools.status == 200, "\(pools.text.prefix(200))")
            let stop = try await http.send("DELETE", "/api/v1/agents/\(agent.agentID)")
            #expect(stop.status == 200, "\(stop.text)")
            #expect(try await stack.redis.send("EXISTS", RedisKeys.agent(agent.agentID)).int == 0)
            print("spawn, pools and terminate through three ACL users took \(ContinuousClock.now - started)")

            // What each user is refused.
            let refused: [(String?, [String])] = [
                ("gateway", ["FLUSHALL"]), ("gateway", ["CONFIG", "GET", "*"]), ("gateway", ["KEYS", "*"]),
                ("gateway", ["SET", RedisKeys.poolLeader(stack.pools[0]), "x"]), ("gateway", ["DEL", RedisKeys.poolAgents(stack.pools[0])]),
                ("manager", ["FLUSHALL"]), ("manager", ["CONFIG", "SET", "appendonly", "no"]), ("manager", ["GET", "secret:other"]),
                ("worker", ["FLUSHALL"]), ("worker", ["SET", "secret:other", "x"]), ("worker", ["GET", "secret:other"]),
                ("worker", ["SET", RedisKeys.poolLeader(stack.pools[0]), "x"]), ("worker", ["EVAL", "return 1", "0"]),
                (nil, ["PING"]), (nil, ["GET", RedisKeys.poolLeader(stack.pools[0])]),
            ]
            for (user, command) in refused {
                let configuration = try RedisConfiguration(url: user.map { Self.url($0, port: port) } ?? "redis://127.0.0.1:\(port)/0")
                let client = RedisClient(configuration: configuration, poolSize: 1, logger: Logger(label: "test"))
                var answer = "accepted"
                do { _ = try await client.send(command) } catch { answer = "\(error)" }
                await client.close()
                #expect(answer.contains("NOPERM") || answer.contains("NOAUTH"), "\(user ?? "default") \(command.joined(separator: " ")): \(answer)")
            }
            // Nothing the services sent was refused.
            for process in [manager, worker, gateway] {
                #expect(process.isRunning, "\(process.name) died")
                #expect(!process.log.contains("NOPERM"), "\(process.name) was refused a command: see \(process.logPath)")
            }
            for process in [gateway, worker, manager] { await process.stop() }
        }
        await redis.kill()
    }
}
