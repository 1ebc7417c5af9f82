import Foundation
import Logging
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// The task API when a dependency fails: Redis only carries deliveries and wake-ups, so a
/// submit is accepted while Redis is down (the worker's sweep finds the task) and a Redis
/// that lost its data gets the agent's stream and group back with the next task; while the
/// database hangs every answer still comes within its bound, as 503 or 504.
@Suite(.serialized) struct TaskDependencyTests {
    @Test(.timeLimit(.minutes(3)))
    func aSubmitIsAcceptedWhileRedisIsDownAndTheStreamComesBackAfter() async throws {
        let environment = try TestEnvironment.load()
        let redis = try PrivateRedis(logDirectory: environment.logDirectory)
        try await redis.start()
        try await TestStack.with(
            name: "taskredis", poolYAML: TaskAPITests.pool, defaults: TestStack.patientDefaults, redisURL: redis.url
        ) { stack in
            try await stack.startManager()
            try await stack.startGateway()
            let agent = try await stack.spawnAgent()

            await redis.kill()
            let started = ContinuousClock.now
            let accepted = try await stack.submit(agent: agent, body: #"{"input": "redis is down"}"#)
            print("a submit with Redis down answered \(accepted.status) after \(ContinuousClock.now - started)")
            #expect([200, 202].contains(accepted.status), "\(accepted.text)")
            let task = try accepted.task
            let rows = try await stack.postgres.query("SELECT count(*) AS n FROM tasks WHERE task_id = $1::uuid", [task.taskID])
            #expect(rows.rows.first?["n"] == "1", "the accepted task is committed")
            #expect(try await stack.http.get("/api/v1/tasks/\(task.taskID)").status == 200)

            // Redis comes back empty: the next task makes the agent's stream and its group again.
            try await redis.start()
            let next = try await stack.submit(agent: agent, body: #"{"input": "redis is back"}"#)
            #expect([200, 202].contains(next.status), "\(next.text)")
            let groups = try await stack.redis.send("XINFO", "GROUPS", RedisKeys.agentTasks(agent)).array ?? []
            #expect(groups.count == 1, "the stream has its group again: \(groups)")
        }
        await redis.kill()
    }

    @Test(.timeLimit(.minutes(3)))
    func everyTaskAnswerComesInTimeWhileTheDatabaseHangs() async throws {
        guard let directory = ProcessInfo.processInfo.environment["AGENTPOOL_TEST_PGBOUNCER_DIR"] else {
            throw SetupError("AGENTPOOL_TEST_PGBOUNCER_DIR is not set: run the tests through scripts/test")
        }
        let pidText = try String(contentsOfFile: directory + "/pgbouncer.pid", encoding: .utf8)
        let pgbouncer = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        try await TestStack.with(name: "taskdbhang", poolYAML: TaskAPITests.pool, defaults: TestStack.patientDefaults) { stack in
            try await stack.startManager()
            try await stack.startGateway(spawnTimeout: 3)
            let agent = try await stack.spawnAgent()
            let queued = try await stack.withFrozenWorkersReturning {
                try await stack.submit(agent: agent, body: #"{"input": 1}"#).task
            }
            let requests: [(String, String, String?, Duration)] = [
                ("POST", "/api/v1/agents/\(agent)/tasks", #"{"input": 2}"#, .seconds(4)),
                ("POST", "/api/v1/agents/pools/\(stack.pools[0])/tasks?wait=1", #"{"input": 3}"#, .seconds(2)),
                ("GET", "/api/v1/tasks/\(queued.taskID)", nil, .seconds(4)),
                ("GET", "/api/v1/tasks/\(queued.taskID)?wait=1", nil, .seconds(2)),
                ("GET", "/api/v1/tasks?pool=\(stack.pools[0])", nil, .seconds(4)),
                ("POST", "/api/v1/tasks/\(queued.taskID)/cancel", nil, .seconds(6)),
                ("GET", "/api/v1/tasks/\(queued.taskID)/events", nil, .seconds(4)),
            ]
            kill(pgbouncer, SIGSTOP)
            let answers: [(String, Int, Duration, Duration)]
            do {
                answers = try await withThrowingTaskGroup(of: (String, Int, Duration, Duration).self) { group in
                    for (method, path, body, bound) in requests {
                        group.addTask {
                            let started = ContinuousClock.now
                            let reply = try await stack.http.send(method, path, body: body.map { Data($0.utf8) })
                            return ("\(method) \(path)", reply.status, ContinuousClock.now - started, bound)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            } catch {
                kill(pgbouncer, SIGCONT)
                throw error
            }
            kill(pgbouncer, SIGCONT)
            for (what, status, took, bound) in answers {
                print("with PgBouncer frozen, \(what) answered \(status) after \(took) (bound \(bound))")
                #expect([503, 504].contains(status), "\(what) answered \(status)")
                #expect(took <= bound, "\(what) took \(took)")
            }
            // The database answers again: so does the API.
            try await Poll.until("the task API to answer again", timeout: .seconds(60), every: .milliseconds(200)) {
                try await stack.http.get("/api/v1/tasks/\(queued.taskID)").status == 200
            }
        }
    }
}

extension TestStack {
    /// ``withFrozenWorkers(_:)`` for a body with a result.
    func withFrozenWorkersReturning<T>(_ body: () async throws -> T) async throws -> T {
        var result: T?
        try await withFrozenWorkers { result = try await body() }
        return try #require(result)
    }
}
