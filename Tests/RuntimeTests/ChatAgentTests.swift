import AgentRuntime
import Foundation
import Logging
import PoolConfig
import PoolProtocol
import Testing

/// The openai_chat example agent against a local stand-in for the chat completions API
/// (a real HTTP server on loopback; no real endpoint is needed).
@Suite struct ChatAgentTests {
    private func chat(_ server: LoopbackServer, model: String) -> ExecAgentRuntime {
        ExecAgentRuntime(
            definition: ExecRuntime(
                command: [pythonExecutable, chatAgent], workingDirectory: repositoryRoot,
                environment: ["OPENAI_BASE_URL": server.url("/v1"), "MODEL": model],
                environmentFrom: ["OPENAI_API_KEY"]),
            agent: testAgent,
            environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "LANG": "C.UTF-8",
                          "OPENAI_API_KEY": "sk-test"],
            logger: Logger(label: "chat-tests"))
    }

    @Test func theConversationIsTheStateAndSurvivesANewProcess() async throws {
        let server = try await LoopbackServer()
        defer { server.stop() }
        let first = chat(server, model: "test-model")
        let recorder = EventRecorder(first)
        try await first.start(state: nil)
        let started = ContinuousClock.now
        await first.run(RuntimeTask(taskID: "m1", attempt: 1, input: .string("hello")))
        #expect(try await recorder.answer(for: "m1") == .result(taskID: "m1", output: input([
            "reply": .string("you said hello (1 messages)"), "model": .string("test-model"),
        ])))
        print("chat agent: first reply after \(seconds(since: started))")
        await first.run(RuntimeTask(taskID: "m2", attempt: 1, input: input(["message": .string("again")])))
        #expect(try await recorder.answer(for: "m2") == .result(taskID: "m2", output: input([
            "reply": .string("you said again (3 messages)"), "model": .string("test-model"),
        ])))
        let states = recorder.events.compactMap { event -> JSONValue? in
            if case .state(let state) = event { return state }
            return nil
        }
        let last = try #require(states.last)
        guard case .array(let messages)? = last[field: "messages"] else { Issue.record("no messages in \(last)"); return }
        #expect(messages.count == 4)
        await first.stop()

        // Placed again: a new process gets the conversation back in `start`.
        let second = chat(server, model: "test-model")
        let secondRecorder = EventRecorder(second)
        try await second.start(state: last)
        await second.run(RuntimeTask(taskID: "m3", attempt: 1, input: .string("third")))
        #expect(try await secondRecorder.answer(for: "m3") == .result(taskID: "m3", output: input([
            "reply": .string("you said third (5 messages)"), "model": .string("test-model"),
        ])))
        await second.run(RuntimeTask(taskID: "bad", attempt: 1, input: .number(3)))
        guard case .error(_, let failure) = try await secondRecorder.answer(for: "bad") else { Issue.record("expected an error"); return }
        #expect(!failure.retryable)
        await second.stop()
    }

    @Test func apiErrorsAreRetryableOnlyWhenTheyMayPass() async throws {
        let server = try await LoopbackServer()
        defer { server.stop() }
        let cases: [(String, Bool, String)] = [
            ("rate-limited", true, "429"), ("broken", true, "503"), ("unknown-model", false, "404"),
        ]
        for (model, retryable, status) in cases {
            let agent = chat(server, model: model)
            let recorder = EventRecorder(agent)
            try await agent.start(state: nil)
            await agent.run(RuntimeTask(taskID: model, attempt: 1, input: .string("hi")))
            guard case .error(_, let failure) = try await recorder.answer(for: model) else {
                Issue.record("expected an error for \(model)")
                continue
            }
            #expect(failure.retryable == retryable, "\(model): \(failure)")
            #expect(failure.message.contains(status), "\(model): \(failure)")
            await agent.stop()
        }
        // Nothing listens: a network failure, retryable.
        let offline = ExecAgentRuntime(
            definition: ExecRuntime(
                command: [pythonExecutable, chatAgent], workingDirectory: repositoryRoot,
                environment: ["OPENAI_BASE_URL": "http://127.0.0.1:\(closedPort())/v1", "MODEL": "m"]),
            agent: testAgent, environment: [:], logger: Logger(label: "chat-tests"))
        let recorder = EventRecorder(offline)
        try await offline.start(state: nil)
        await offline.run(RuntimeTask(taskID: "offline", attempt: 1, input: .string("hi")))
        guard case .error(_, let failure) = try await recorder.answer(for: "offline") else { Issue.record("expected an error"); return }
        #expect(failure.retryable && failure.message.contains("unreachable"), "\(failure)")
        await offline.stop()
    }
}
