import Foundation
import Logging
import PoolProtocol
import Redis
import Testing
import TestSupport

/// Tasks end to end through the compose stack's Redis ACL (deploy/redis/users.acl): the
/// gateway, the manager and a worker each log in as their own user; a task submitted with
/// `?wait` is delivered through the agent's stream, run by the worker, and answered 200 with
/// its output; a cancel publishes on the worker's channel; nobody is refused a command.
@Suite(.serialized) struct TaskACLTests {
    @Test(.timeLimit(.minutes(3)))
    func tasksRunWithEachServicesOwnLeastPrivilegeUser() async throws {
        let environment = try TestEnvironment.load()
        let directory = NSTemporaryDirectory() + "agentpool-taskacl-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let aclFile = try RedisACLTests.renderACL(repository: environment.repository, into: directory)
        let redis = try PrivateRedis(logDirectory: environment.logDirectory, extraArguments: ["--aclfile", aclFile])
        try await redis.start()
        let port = redis.port
        let pool = "  - name: {pool}\n    role: developer\n    launcher: external\n"
        try await TestStack.with(name: "taskacl", poolYAML: pool, redisURL: RedisACLTests.url("admin", port: port)) { stack in
            func service(_ name: String, extra: [String: String] = [:]) throws -> ServiceProcess {
                var variables = stack.environment.serviceEnvironment
                variables["REDIS_URL"] = RedisACLTests.url(name, port: port)
                variables.merge(extra) { $1 }
                return try ServiceProcess(
                    name: "\(stack.pools[0])-taskacl-\(name)", executable: stack.environment.executable(name),
                    arguments: ["--config", stack.configPath], environment: variables, logDirectory: stack.environment.logDirectory)
            }
            let manager = try service("manager")
            try await Poll.until("the manager (user manager) to lead") {
                try await stack.redis.send("EXISTS", RedisKeys.poolLeader(stack.pools[0])).int == 1
            }
            let worker = try stack.startWorker(label: "taskacl", environment: ["REDIS_URL": RedisACLTests.url("worker", port: port)])
            try await Poll.until("the worker (user worker) to register") {
                try await stack.redis.send("ZCARD", RedisKeys.poolProcesses(stack.pools[0])).int == 1
            }
            let gatewayPort = try Loopback.freePort()
            let gateway = try service("gateway", extra: ["GATEWAY_PORT": String(gatewayPort)])
            stack.http = HTTPClient(baseURL: "http://127.0.0.1:\(gatewayPort)")
            try await Poll.until("the gateway (user gateway) to be ready") { try await stack.http.get("/readyz").status == 200 }

            let agent = try await stack.spawnAgent()
            let started = ContinuousClock.now
            let done = try await stack.submit(agent: agent, body: #"{"input": {"echo": [1, "two"]}}"#, query: "wait=30")
            print("a task through three ACL users answered \(done.status) after \(ContinuousClock.now - started)")
            #expect(done.status == 200, "\(done.text)")
            #expect(try done.task.status == .succeeded)
            #expect(try done.task.output == .object(["echo": .array([.number(1), .string("two")])]))
            let events = ServerSentEvents.parse(try await stack.http.get("/api/v1/tasks/\(try done.task.taskID)/events").text)
            #expect(events.first?.event == "queued" && events.last?.event == "succeeded", "\(events)")

            // A pool submit, and a cancel of a finished task, go through the same users.
            let pooled = try await stack.submit(pool: stack.pools[0], body: #"{"input": 2}"#, query: "wait=30")
            #expect(pooled.status == 200, "\(pooled.text)")
            #expect(try await stack.http.send("POST", "/api/v1/tasks/\(try pooled.task.taskID)/cancel").status == 200)

            for process in [manager, worker, gateway] {
                #expect(process.isRunning, "\(process.name) died")
                #expect(!process.log.contains("NOPERM"), "\(process.name) was refused a command: see \(process.logPath)")
            }
            for process in [gateway, worker, manager] { await process.stop() }
        }
        await redis.kill()
    }
}
