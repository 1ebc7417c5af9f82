import AgentRuntime
import Foundation
import Synchronization
import Logging
import PoolConfig
import PoolProtocol
import Testing

/// The exec runtime with real child processes: the example python agent.
@Suite struct ExecRuntimeTests {
    private func fastOptions() -> ExecRuntimeOptions {
        var options = ExecRuntimeOptions()
        options.cancelGrace = .seconds(1)
        options.terminateAfter = .milliseconds(300)
        options.killAfter = .milliseconds(500)
        return options
    }

    @Test func startsThenRunsTasksWithProgressResultsErrorsAndState() async throws {
        let log = CapturedLog()
        let runtime = pythonRuntime(logger: log.logger)
        let recorder = EventRecorder(runtime)
        let started = ContinuousClock.now
        try await runtime.start(state: nil)
        print("exec: ready after \(seconds(since: started))")

        let steps = input(["steps": .number(3), "delay": .number(0.01)])
        await runtime.run(RuntimeTask(taskID: "s", attempt: 1, input: steps))
        #expect(try await recorder.answer(for: "s") == .result(taskID: "s", output: steps))
        let progress = recorder.events.compactMap { event -> JSONValue? in
            if case .progress("s", let data) = event { return data }
            return nil
        }
        #expect(progress == (1...3).map { input(["step": .number(Double($0)), "of": .number(3)]) })
        // The checkpoint comes before the result it belongs to.
        let stateIndex = recorder.events.firstIndex { if case .state = $0 { return true } else { return false } }
        let resultIndex = recorder.events.firstIndex { if case .result("s", _) = $0 { return true } else { return false } }
        #expect(stateIndex.flatMap { state in resultIndex.map { state < $0 } } == true)
        #expect(recorder.events.contains(.state(input(["tasks_done": .number(1), "recent_inputs": .array([steps])]))))

        await runtime.run(RuntimeTask(taskID: "f", attempt: 2, input: input(["op": .string("fail"), "message": .string("bad input"), "retryable": .bool(true)])))
        #expect(try await recorder.answer(for: "f") == .error(taskID: "f", TaskFailure(message: "bad input", retryable: true)))

        await runtime.run(RuntimeTask(taskID: "e", attempt: 1, input: input(["op": .string("stderr"), "text": .string("hello from stderr")])))
        _ = try await recorder.answer(for: "e")
        // Stderr lines are logged with the agent's id.
        let deadline = ContinuousClock.now + .seconds(5)
        while !log.contains("hello from stderr", metadata: "agent_id", testAgent.agentID), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(log.contains("hello from stderr", metadata: "agent_id", testAgent.agentID))
        await runtime.stop()
        try await recorder.waitForEnd()
        print("exec: whole test \(seconds(since: started))")
    }

    @Test func aCrashedChildIsRestartedWithTheLastStateItReported() async throws {
        let folder = try temporaryFolder()
        let pidFile = folder + "/pids"
        let runtime = pythonRuntime(environment: ["AGENT_PID_FILE": pidFile])
        let recorder = EventRecorder(runtime)
        let given = input(["tasks_done": .number(41), "recent_inputs": .array([])])
        try await runtime.start(state: given)
        await runtime.run(RuntimeTask(taskID: "a", attempt: 1, input: input(["op": .string("echo"), "n": .number(1)])))
        _ = try await recorder.answer(for: "a")
        let crashed = ContinuousClock.now
        await runtime.run(RuntimeTask(taskID: "crash", attempt: 1, input: input(["op": .string("crash"), "code": .number(7)])))
        let exited = try await recorder.first(within: .seconds(10), "exited") { if case .exited = $0 { return true } else { return false } }
        #expect(exited == .exited(reason: "agent exited (exit status 7); last stderr line: crashing as asked"))
        let exitedAfter = seconds(since: crashed)
        _ = try await recorder.first(within: .seconds(10), "restarted") { $0 == .restarted }
        print("exec crash: exited after \(exitedAfter), restarted after \(seconds(since: crashed))")
        // No answer for the lost task: the worker fails it on `.exited`.
        #expect(!recorder.events.contains { if case .result("crash", _) = $0 { return true } else { return false } })

        await runtime.run(RuntimeTask(taskID: "b", attempt: 1, input: input(["op": .string("state")])))
        guard case .result(_, let state) = try await recorder.answer(for: "b") else { Issue.record("expected a result"); return }
        #expect(state == input(["tasks_done": .number(42), "recent_inputs": .array([input(["op": .string("echo"), "n": .number(1)])])]))

        let children = pids(in: pidFile)
        #expect(children.count == 2)
        await runtime.stop()
        for pid in children {
            #expect(await waitUntilGone(pid), "process \(pid) is left (state \(processState(pid) ?? "-"))")
        }
    }

    @Test func anAnswerWrittenJustBeforeExitingIsNotLost() async throws {
        let runtime = pythonRuntime()
        let recorder = EventRecorder(runtime)
        try await runtime.start(state: nil)
        let value = input(["op": .string("answer_and_exit")])
        await runtime.run(RuntimeTask(taskID: "last", attempt: 1, input: value))
        #expect(try await recorder.answer(for: "last") == .result(taskID: "last", output: value))
        let exited = try await recorder.first(within: .seconds(10), "exited") { if case .exited = $0 { return true } else { return false } }
        #expect("\(exited)".contains("agent exited (exit status 0)"), "\(exited)")
        let resultIndex = recorder.events.firstIndex { if case .result = $0 { return true } else { return false } }
        let exitIndex = recorder.events.firstIndex { if case .exited = $0 { return true } else { return false } }
        #expect(resultIndex.flatMap { result in exitIndex.map { result < $0 } } == true)
        await runtime.stop()
    }

    @Test func aChildThatClosesItsStdoutIsRestarted() async throws {
        let folder = try temporaryFolder()
        let pidFile = folder + "/pids"
        let runtime = AgentRuntimes.make(
            .exec(ExecRuntime(command: [pythonExecutable, pythonAgent], workingDirectory: repositoryRoot,
                              environment: ["AGENT_PID_FILE": pidFile])),
            agent: testAgent, environment: [:], logger: Logger(label: "test"))
        let recorder = EventRecorder(runtime)
        try await runtime.start(state: nil)
        let broken = ContinuousClock.now
        await runtime.run(RuntimeTask(taskID: "mute", attempt: 1, input: input(["op": .string("close_stdout")])))
        let exited = try await recorder.first(within: .seconds(10), "exited") { if case .exited = $0 { return true } else { return false } }
        #expect(exited == .exited(reason: "the agent closed its stdout"))
        _ = try await recorder.first(within: .seconds(10), "restarted") { $0 == .restarted }
        print("exec stdout closed: exited after \(seconds(since: broken)), restarted")
        if let first = pids(in: pidFile).first { #expect(await waitUntilGone(first)) }
        await runtime.run(RuntimeTask(taskID: "next", attempt: 1, input: .bool(true)))
        #expect(try await recorder.answer(for: "next") == .result(taskID: "next", output: .bool(true)))
        await runtime.stop()
    }

    @Test func aChildThatKeepsExitingRightAfterStartingEndsFailed() async throws {
        let folder = try temporaryFolder()
        let crashFile = folder + "/crash"
        let pidFile = folder + "/pids"
        let runtime = pythonRuntime(environment: ["AGENT_CRASH_AT_START": crashFile, "AGENT_PID_FILE": pidFile])
        let recorder = EventRecorder(runtime)
        try await runtime.start(state: nil)
        _ = FileManager.default.createFile(atPath: crashFile, contents: Data())
        let crashed = ContinuousClock.now
        await runtime.run(RuntimeTask(taskID: "crash", attempt: 1, input: input(["op": .string("crash")])))
        let failed = try await recorder.first(within: .seconds(20), "failed") { if case .failed = $0 { return true } else { return false } }
        print("exec crash loop: failed after \(seconds(since: crashed)) and \(pids(in: pidFile).count) starts")
        guard case .failed(let reason) = failed else { return }
        #expect(reason.hasPrefix("agent exited 3 times in a row right after starting (last: agent exited (exit status 1)"), "\(reason)")
        #expect(!recorder.events.contains(.restarted))
        // A failed agent answers new tasks at once.
        await runtime.run(RuntimeTask(taskID: "late", attempt: 1, input: .null))
        guard case .error(_, let failure) = try await recorder.answer(for: "late") else { Issue.record("expected an error"); return }
        #expect(failure.message.hasPrefix("agent failed: ") && !failure.retryable)
        await runtime.stop()
        for pid in pids(in: pidFile) {
            #expect(await waitUntilGone(pid), "process \(pid) is left (state \(processState(pid) ?? "-"))")
        }
    }

    @Test func startThrowsWhenReadyNeverComesAndTheChildIsKilled() async throws {
        let folder = try temporaryFolder()
        let pidFile = folder + "/pids"
        let runtime = pythonRuntime(environment: ["AGENT_NO_READY": "1", "AGENT_PID_FILE": pidFile], startTimeout: .milliseconds(800))
        let started = ContinuousClock.now
        do {
            try await runtime.start(state: nil)
            Issue.record("start succeeded without ready")
        } catch {
            #expect(error.reason.contains("did not answer ready within"), "\(error)")
        }
        let took = ContinuousClock.now - started
        print("exec no ready: start threw after \(seconds(since: started)) (start_timeout 0.8 s)")
        #expect(took >= .milliseconds(800) && took < .seconds(10))
        for pid in pids(in: pidFile) {
            #expect(await waitUntilGone(pid), "process \(pid) is left (state \(processState(pid) ?? "-"))")
        }
        await runtime.stop()
    }

    @Test func startThrowsWhenTheProgramDoesNotExist() async throws {
        let runtime = ExecAgentRuntime(
            definition: ExecRuntime(command: ["/nonexistent/agent"], workingDirectory: "/"),
            agent: testAgent, environment: [:], logger: Logger(label: "test"))
        do {
            try await runtime.start(state: nil)
            Issue.record("start succeeded")
        } catch {
            #expect(error.reason.contains("cannot start /nonexistent/agent"), "\(error)")
        }
        await runtime.stop()
    }

    @Test func garbageAndOverlongLinesAreDroppedAndTheAgentKeepsWorking() async throws {
        let runtime = pythonRuntime()
        let recorder = EventRecorder(runtime)
        try await runtime.start(state: nil)
        await runtime.run(RuntimeTask(taskID: "g", attempt: 1, input: input(["op": .string("garbage")])))
        #expect(try await recorder.answer(for: "g") == .result(taskID: "g", output: input(["op": .string("garbage")])))
        let long = ContinuousClock.now
        await runtime.run(RuntimeTask(taskID: "l", attempt: 1, input: input(["op": .string("long_line"), "bytes": .number(2_097_152)])))
        #expect(try await recorder.answer(for: "l") == .result(taskID: "l", output: input(["op": .string("long_line"), "bytes": .number(2_097_152)])))
        print("exec: a 2 MiB line dropped and the task answered after \(seconds(since: long))")
        // The overlong line was a progress message: it never arrived.
        #expect(!recorder.events.contains { if case .progress("l", _) = $0 { return true } else { return false } })
        await runtime.run(RuntimeTask(taskID: "after", attempt: 1, input: .string("still here")))
        #expect(try await recorder.answer(for: "after") == .result(taskID: "after", output: .string("still here")))
        await runtime.stop()
    }

    @Test func aFloodOfOutputIsReadLineByLineWithBoundedMemory() async throws {
        let runtime = pythonRuntime()
        let recorder = EventRecorder(runtime)
        try await runtime.start(state: nil)
        let before = residentKiB()
        let started = ContinuousClock.now
        let bytes = 128 << 20
        await runtime.run(RuntimeTask(taskID: "flood", attempt: 1, input: input(["op": .string("flood"), "bytes": .number(Double(bytes))])))
        _ = try await recorder.answer(for: "flood", within: .seconds(120))
        let after = residentKiB()
        print("exec flood: 128 MiB without a newline read in \(seconds(since: started)); resident memory \(before / 1024) MiB -> \(after / 1024) MiB")
        // Buffering it would take 128 MiB; the framer keeps at most about 1 MiB of it.
        #expect(after - before < 64 * 1024)
        await runtime.stop()
    }

    @Test func aCancelTheAgentAnswersEndsTheTask() async throws {
        let runtime = pythonRuntime(options: fastOptions())
        let recorder = EventRecorder(runtime)
        try await runtime.start(state: nil)
        await runtime.run(RuntimeTask(taskID: "slow", attempt: 1, input: input(["op": .string("sleep"), "seconds": .number(60)])))
        try await Task.sleep(for: .milliseconds(200))
        let cancelled = ContinuousClock.now
        await runtime.cancel(taskID: "slow")
        #expect(try await recorder.answer(for: "slow", within: .seconds(10)) == .error(taskID: "slow", TaskFailure(message: "cancelled", retryable: false)))
        print("exec cancel answered by the agent after \(seconds(since: cancelled))")
        #expect(!recorder.events.contains(.restarted))
        await runtime.stop()
    }

    @Test func aCancelTheAgentIgnoresIsAnsweredAfterTheGraceAndTheChildRestarts() async throws {
        let folder = try temporaryFolder()
        let pidFile = folder + "/pids"
        let runtime = pythonRuntime(environment: ["AGENT_PID_FILE": pidFile], options: fastOptions())
        let recorder = EventRecorder(runtime)
        try await runtime.start(state: nil)
        await runtime.run(RuntimeTask(taskID: "stuck", attempt: 1, input: input(["op": .string("ignore_cancel"), "seconds": .number(60)])))
        try await Task.sleep(for: .milliseconds(200))
        let cancelled = ContinuousClock.now
        await runtime.cancel(taskID: "stuck")
        #expect(try await recorder.answer(for: "stuck", within: .seconds(10)) == .error(taskID: "stuck", TaskFailure(message: "cancelled", retryable: false)))
        let answeredAfter = ContinuousClock.now - cancelled
        print("exec cancel ignored: answered after \(seconds(since: cancelled)) (grace 1 s)")
        #expect(answeredAfter >= .seconds(1) && answeredAfter < .seconds(4))
        let exited = try await recorder.first(within: .seconds(10), "exited") { if case .exited = $0 { return true } else { return false } }
        #expect("\(exited)".contains("did not answer the cancel of task stuck"))
        _ = try await recorder.first(within: .seconds(10), "restarted") { $0 == .restarted }
        print("exec cancel ignored: restarted after \(seconds(since: cancelled))")
        let children = pids(in: pidFile)
        #expect(children.count == 2)
        if let first = children.first { #expect(await waitUntilGone(first)) }
        await runtime.run(RuntimeTask(taskID: "next", attempt: 1, input: .string("ok")))
        #expect(try await recorder.answer(for: "next") == .result(taskID: "next", output: .string("ok")))
        await runtime.stop()
    }

    @Test func stopKillsAChildThatIgnoresSIGTERMAndLeavesNoZombie() async throws {
        let folder = try temporaryFolder()
        let pidFile = folder + "/pids"
        let runtime = pythonRuntime(environment: ["AGENT_IGNORE_TERM": "1", "AGENT_PID_FILE": pidFile], options: fastOptions())
        let recorder = EventRecorder(runtime)
        try await runtime.start(state: nil)
        let pid = try #require(pids(in: pidFile).first)
        #expect(processExists(pid))
        let stopping = ContinuousClock.now
        await runtime.stop()
        let took = ContinuousClock.now - stopping
        print("exec stop of a child ignoring SIGTERM: \(seconds(since: stopping)) (SIGTERM after 0.3 s, SIGKILL 0.5 s later)")
        #expect(took >= .milliseconds(800) && took < .seconds(5))
        try await recorder.waitForEnd()
        #expect(await waitUntilGone(pid), "process \(pid) is left (state \(processState(pid) ?? "-"))")
    }

    @Test func aPoliteChildStopsAtOnceAndIsReaped() async throws {
        let folder = try temporaryFolder()
        let pidFile = folder + "/pids"
        let runtime = pythonRuntime(environment: ["AGENT_PID_FILE": pidFile])
        try await runtime.start(state: nil)
        let pid = try #require(pids(in: pidFile).first)
        let stopping = ContinuousClock.now
        await runtime.stop()
        print("exec stop of a polite child: \(seconds(since: stopping))")
        #expect(ContinuousClock.now - stopping < .seconds(4))
        #expect(await waitUntilGone(pid), "process \(pid) is left (state \(processState(pid) ?? "-"))")
    }

    @Test func theChildsEnvironmentIsExactlyTheAllowedSet() async throws {
        let worker = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": "/home/agentpool",
            "LANG": "C.UTF-8", "TZ": "UTC", "REDIS_URL": "redis://:secret@localhost:6379/0",
            "POSTGRES_PASSWORD": "secret", "PGBOUNCER_URL": "postgresql://u:secret@h/db", "API_KEYS": "k1",
            "OPENAI_API_KEY": "sk-test", "UNRELATED": "x",
        ]
        let runtime = ExecAgentRuntime(
            definition: ExecRuntime(
                command: [pythonExecutable, pythonAgent], workingDirectory: repositoryRoot, environment: ["MODEL_NAME": "small"],
                environmentFrom: ["OPENAI_API_KEY", "NOT_SET_ANYWHERE", "REDIS_URL"]),
            agent: testAgent, environment: worker, logger: Logger(label: "test"))
        let recorder = EventRecorder(runtime)
        try await runtime.start(state: nil)
        await runtime.run(RuntimeTask(taskID: "env", attempt: 1, input: input(["op": .string("env")])))
        guard case .result(_, .object(let environment)) = try await recorder.answer(for: "env") else {
            Issue.record("expected the environment")
            return
        }
        print("exec environment: \(environment.keys.sorted())")
        #expect(Set(environment.keys) == ["PATH", "HOME", "LANG", "TZ", "MODEL_NAME", "OPENAI_API_KEY"])
        #expect(environment["OPENAI_API_KEY"] == .string("sk-test") && environment["HOME"] == .string("/home/agentpool"))
        await runtime.stop()
    }

    @Test func theChildInheritsNoDescriptorOfTheWorker() async throws {
        // Descriptors opened without CLOEXEC, as a C library might: the child must not get them.
        let leaky = open("/dev/null", O_RDONLY)
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(leaky); close(socketFD) }
        let folder = try temporaryFolder()
        let pidFile = folder + "/pids"
        let runtime = pythonRuntime(environment: ["AGENT_PID_FILE": pidFile])
        try await runtime.start(state: nil)
        let pid = try #require(pids(in: pidFile).first)
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").sorted()
        print("exec child's open descriptors: \(open) (the test holds \(leaky) and \(socketFD) open)")
        #expect(open == ["0", "1", "2"])
        await runtime.stop()
    }

    @Test func theStartMessageCarriesTheAgentAndItsState() async throws {
        // A shell agent that echoes the start line it was given to stderr.
        let folder = try temporaryFolder()
        let script = folder + "/agent.sh"
        try """
            read -r start
            printf '%s\\n' "$start" >&2
            printf '{"type":"ready"}\\n'
            read -r ignored
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let log = CapturedLog()
        let runtime = ExecAgentRuntime(
            definition: ExecRuntime(command: ["/bin/sh", script], workingDirectory: folder),
            agent: testAgent, environment: ProcessInfo.processInfo.environment, logger: log.logger)
        try await runtime.start(state: input(["n": .number(1)]))
        let deadline = ContinuousClock.now + .seconds(5)
        while !log.contains("\"type\":\"start\"", metadata: "agent_id", testAgent.agentID), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let startLine = log.lines.withLock { $0.first { $0.0.contains("\"type\":\"start\"") }?.0 } ?? ""
        let start = JSONValueParser.parse(startLine)
        #expect(start?[field: "state"] == input(["n": .number(1)]), "\(startLine)")
        #expect(start?[field: "agent"] == input([
            "agent_id": .string(testAgent.agentID), "name": .string("tester"), "pool_name": .string("runtime_pool"),
            "role": .string("tester"), "metadata": input(["team": .string("a")]),
        ]))
        await runtime.stop()
    }
}

enum JSONValueParser {
    static func parse(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }
}

extension JSONValue {
    subscript(field key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }
}
