import AgentRuntime
import Foundation
import PoolConfig
import PoolProtocol
import Testing

/// The http runtime against a real HTTP server on loopback.
@Suite struct HTTPRuntimeTests {
    private func runtime(_ url: String, timeout: Duration = .seconds(30)) -> HTTPAgentRuntime {
        var options = HTTPRuntimeOptions()
        options.requestTimeout = timeout
        return HTTPAgentRuntime(definition: HTTPRuntime(url: url), agent: testAgent, options: options)
    }

    private func failure(_ event: RuntimeEvent) -> TaskFailure? {
        if case .error(_, let failure) = event { return failure }
        return nil
    }

    @Test func answersByStatus() async throws {
        let server = try await LoopbackServer()
        defer { server.stop() }
        let ok = runtime(server.url("/ok"))
        let recorder = EventRecorder(ok)
        try await ok.start(state: nil)
        let started = ContinuousClock.now
        await ok.run(RuntimeTask(taskID: "t1", attempt: 2, input: input(["q": .string("hi")])))
        let answer = try await recorder.answer(for: "t1")
        print("http 200 answered after \(seconds(since: started))")
        #expect(answer == .result(taskID: "t1", output: input([
            "echo": input(["q": .string("hi")]), "attempt": .number(2), "task_id": .string("t1"),
            "host": .string("127.0.0.1:\(server.port)"),
            "agent": input([
                "agent_id": .string(testAgent.agentID), "name": .string("tester"), "pool_name": .string("runtime_pool"),
                "role": .string("tester"), "metadata": input(["team": .string("a")]),
            ]),
        ])))
        await ok.stop()

        let cases: [(String, TaskFailure?)] = [
            ("/notfound", TaskFailure(message: "no such thing (HTTP 404)", retryable: false)),
            ("/teapot", TaskFailure(message: "HTTP 418 I'm a teapot", retryable: false)),
            ("/boom", TaskFailure(message: "exploded (HTTP 500)", retryable: true)),
            ("/text", TaskFailure(message: "the agent answered HTTP 200 with a body that is not JSON", retryable: false)),
        ]
        for (path, expected) in cases {
            let agent = runtime(server.url(path))
            let recorder = EventRecorder(agent)
            await agent.run(RuntimeTask(taskID: path, attempt: 1, input: .null))
            #expect(failure(try await recorder.answer(for: path)) == expected, "\(path)")
            await agent.stop()
        }
        let big = runtime(server.url("/big"))
        let bigRecorder = EventRecorder(big)
        await big.run(RuntimeTask(taskID: "big", attempt: 1, input: .null))
        let bigFailure = failure(try await bigRecorder.answer(for: "big"))
        #expect(bigFailure?.retryable == true && bigFailure?.message.contains("larger than") == true, "\(String(describing: bigFailure))")
        await big.stop()
    }

    @Test func aTimeoutAndARefusedConnectionAreRetryable() async throws {
        let server = try await LoopbackServer()
        defer { server.stop() }
        let slow = runtime(server.url("/slow"), timeout: .milliseconds(500))
        let recorder = EventRecorder(slow)
        let started = ContinuousClock.now
        await slow.run(RuntimeTask(taskID: "slow", attempt: 1, input: .null))
        let timedOut = failure(try await recorder.answer(for: "slow"))
        print("http timeout (0.5 s) answered after \(seconds(since: started))")
        #expect(timedOut == TaskFailure(message: "no answer within 0.5 seconds", retryable: true))
        await slow.stop()

        let port = closedPort()
        let refused = runtime("http://127.0.0.1:\(port)/run")
        let refusedRecorder = EventRecorder(refused)
        let refusedAt = ContinuousClock.now
        await refused.run(RuntimeTask(taskID: "r", attempt: 1, input: .null))
        let refusal = failure(try await refusedRecorder.answer(for: "r"))
        print("http refused answered after \(seconds(since: refusedAt)): \(String(describing: refusal))")
        #expect(refusal?.retryable == true)
        #expect(refusal?.message.contains("connection refused") == true, "\(String(describing: refusal))")
        await refused.stop()
    }

    @Test func aCancelAbortsTheRequest() async throws {
        let server = try await LoopbackServer()
        defer { server.stop() }
        let slow = runtime(server.url("/slow"))
        let recorder = EventRecorder(slow)
        await slow.run(RuntimeTask(taskID: "c", attempt: 1, input: .null))
        try await Task.sleep(for: .milliseconds(300))
        let cancelled = ContinuousClock.now
        await slow.cancel(taskID: "c")
        #expect(try await recorder.answer(for: "c", within: .seconds(5)) == .error(taskID: "c", TaskFailure(message: "cancelled", retryable: false)))
        print("http cancel answered after \(seconds(since: cancelled))")
        // Exactly one answer, even though the request also fails when its connection closes.
        try await Task.sleep(for: .milliseconds(300))
        #expect(recorder.events.count == 1)
        await slow.stop()
        try await recorder.waitForEnd()
    }

    @Test func startChecksTheURLOnly() async throws {
        let unreachable = runtime("http://127.0.0.1:\(closedPort())/run")
        try await unreachable.start(state: nil)
        let bad = runtime("https://example.com/run")
        do {
            try await bad.start(state: nil)
            Issue.record("start accepted an https url")
        } catch {
            #expect(error.reason.contains("https is not supported"))
        }
    }
}
