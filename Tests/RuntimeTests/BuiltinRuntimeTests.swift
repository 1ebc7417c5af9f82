import AgentRuntime
import Logging
import PoolConfig
import PoolProtocol
import Testing

@Suite struct BuiltinRuntimeTests {
    private func make(_ kind: BuiltinRuntime) -> any AgentRuntime {
        AgentRuntimes.make(.builtin(kind), agent: testAgent, environment: [:], logger: Logger(label: "test"))
    }

    @Test func echoAnswersTheInput() async throws {
        let runtime = make(.echo)
        let recorder = EventRecorder(runtime)
        try await runtime.start(state: nil)
        let value = input(["x": .array([.number(1), .string("two")])])
        await runtime.run(RuntimeTask(taskID: "t1", attempt: 1, input: value))
        #expect(try await recorder.answer(for: "t1") == .result(taskID: "t1", output: value))
        await runtime.stop()
        try await recorder.waitForEnd()
    }

    @Test func sleepAnswersAfterItsSecondsAndACancelEndsItAtOnce() async throws {
        let runtime = make(.sleep)
        let recorder = EventRecorder(runtime)
        try await runtime.start(state: nil)
        let started = ContinuousClock.now
        await runtime.run(RuntimeTask(taskID: "short", attempt: 1, input: input(["seconds": .number(0.2)])))
        await runtime.run(RuntimeTask(taskID: "long", attempt: 1, input: input(["seconds": .number(600)])))
        let short = try await recorder.answer(for: "short")
        let shortTime = ContinuousClock.now - started
        #expect(short == .result(taskID: "short", output: input(["seconds": .number(0.2)])))
        #expect(shortTime >= .milliseconds(200))
        let cancelled = ContinuousClock.now
        await runtime.cancel(taskID: "long")
        #expect(try await recorder.answer(for: "long", within: .seconds(5))
            == .error(taskID: "long", TaskFailure(message: "cancelled", retryable: false)))
        print("builtin sleep: 0.2 s task answered after \(seconds(since: started)); cancel answered after \(seconds(since: cancelled))")
        await runtime.stop()
    }

    @Test func sleepRefusesOddInputWithoutCrashing() async throws {
        let runtime = make(.sleep)
        let recorder = EventRecorder(runtime)
        let odd: [JSONValue] = [.null, .string("3"), input([:]), input(["seconds": .number(-1)]),
                                input(["seconds": .string("1")]), input(["seconds": .number(1e12)])]
        for (index, value) in odd.enumerated() {
            await runtime.run(RuntimeTask(taskID: "odd\(index)", attempt: 1, input: value))
            guard case .error(_, let failure) = try await recorder.answer(for: "odd\(index)") else {
                Issue.record("expected an error for \(value)")
                continue
            }
            #expect(!failure.retryable)
            #expect(failure.message.contains("input.seconds"))
        }
        await runtime.stop()
    }

    @Test func failFailsWithTheMessageAndRetryability() async throws {
        let runtime = make(.fail)
        let recorder = EventRecorder(runtime)
        await runtime.run(RuntimeTask(taskID: "a", attempt: 1, input: input(["message": .string("nope"), "retryable": .bool(true)])))
        await runtime.run(RuntimeTask(taskID: "b", attempt: 2, input: input(["message": .string("never")])))
        await runtime.run(RuntimeTask(taskID: "c", attempt: 1, input: .array([])))
        #expect(try await recorder.answer(for: "a") == .error(taskID: "a", TaskFailure(message: "nope", retryable: true)))
        #expect(try await recorder.answer(for: "b") == .error(taskID: "b", TaskFailure(message: "never", retryable: false)))
        guard case .error(_, let odd) = try await recorder.answer(for: "c") else { Issue.record("expected an error"); return }
        #expect(!odd.retryable)
        await runtime.stop()
    }
}
