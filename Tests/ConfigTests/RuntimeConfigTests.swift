import PoolConfig
import Testing

/// `runtime:` and the task settings of pool.yaml (contract section 5).
@Suite struct RuntimeConfigTests {
    private func pools(_ text: String, file: String = "/srv/pools/pool.yaml") throws -> [PoolDefinition] {
        try PoolFile.parse(text, fileName: file).pools
    }

    private func message(_ text: String, file: String = "pool.yaml") throws -> String {
        try #require(poolFileError(text, file: file)).description
    }

    @Test func noRuntimeMeansBuiltinEchoAndTheContractsTaskDefaults() throws {
        let pool = try #require(try pools("pools:\n  - name: a\n    role: b\n").first)
        #expect(pool.runtime == .builtin(.echo))
        #expect(pool.tasks == TaskSettings(
            taskTimeout: .seconds(300), maxAttempts: 3, maxQueuedTasks: 100, taskConcurrency: 1,
            taskRetention: .seconds(604_800)))
    }

    @Test func theContractsExampleParses() throws {
        let text = """
            defaults:
              runtime: {kind: builtin, name: sleep}
              task_timeout: 12.5
              max_attempts: 5
              max_queued_tasks: 7
              task_concurrency: 2
              task_retention: 3600
            pools:
              - name: developer_pool
                role: developer
                runtime:
                  kind: exec
                  command: ["python3", "agents/developer.py", "--verbose"]
                  working_dir: /srv/agents
                  env: {MODEL_NAME: "small", RETRIES: 3}
                  env_from: [OPENAI_API_KEY]
                  start_timeout: 10
                max_attempts: 1
              - name: tester_pool
                role: tester
                runtime: {kind: http, url: "http://127.0.0.1:9000/run"}
              - name: plain_pool
                role: plain
            """
        let parsed = try pools(text)
        #expect(parsed[0].runtime == .exec(ExecRuntime(
            command: ["python3", "agents/developer.py", "--verbose"], workingDirectory: "/srv/agents",
            environment: ["MODEL_NAME": "small", "RETRIES": "3"], environmentFrom: ["OPENAI_API_KEY"],
            startTimeout: .seconds(10))))
        #expect(parsed[0].tasks == TaskSettings(
            taskTimeout: .milliseconds(12_500), maxAttempts: 1, maxQueuedTasks: 7, taskConcurrency: 2,
            taskRetention: .seconds(3600)))
        #expect(parsed[1].runtime == .http(HTTPRuntime(url: "http://127.0.0.1:9000/run")))
        #expect(parsed[1].tasks.maxAttempts == 5)
        #expect(parsed[2].runtime == .builtin(.sleep))
    }

    @Test func relativeProgramPathsResolveAgainstWorkingDirElseThePoolFilesFolder() throws {
        let text = """
            pools:
              - name: a
                role: a
                runtime: {kind: exec, command: ["./agents/a.py", "x/y"]}
              - name: b
                role: b
                runtime: {kind: exec, command: ["bin/agent"], working_dir: ../agents}
              - name: c
                role: c
                runtime: {kind: exec, command: ["/usr/bin/python3", "agent.py"], working_dir: /opt/c}
              - name: d
                role: d
                runtime: {kind: exec, command: [python3]}
            """
        let parsed = try pools(text, file: "/srv/pools/pool.yaml")
        guard case .exec(let a) = parsed[0].runtime, case .exec(let b) = parsed[1].runtime,
              case .exec(let c) = parsed[2].runtime, case .exec(let d) = parsed[3].runtime else {
            Issue.record("expected exec runtimes, got \(parsed.map(\.runtime))")
            return
        }
        // Only the program is a path to resolve; arguments are the program's business.
        #expect(a.command == ["/srv/pools/agents/a.py", "x/y"])
        #expect(a.workingDirectory == "/srv/pools")
        #expect(a.startTimeout == .seconds(10))
        #expect(b.command == ["/srv/agents/bin/agent"])
        #expect(b.workingDirectory == "/srv/agents")
        #expect(c.command == ["/usr/bin/python3", "agent.py"])
        #expect(d.command == ["python3"])
        #expect(d.workingDirectory == "/srv/pools")
    }

    @Test func aRelativePoolFileNameResolvesAgainstTheCurrentDirectory() throws {
        let pool = try #require(try pools("pools:\n  - {name: a, role: a, runtime: {kind: exec, command: [bin/x]}}\n", file: "pool.yaml").first)
        guard case .exec(let exec) = pool.runtime else { Issue.record("expected exec"); return }
        #expect(exec.command[0].hasPrefix("/") && exec.command[0].hasSuffix("/bin/x"))
        #expect(exec.workingDirectory?.hasPrefix("/") == true)
    }

    @Test func badRuntimesNameFileLineAndField() throws {
        let cases: [(String, String)] = [
            ("runtime: {kind: docker}",
             #"pool.yaml:4: pools[0].runtime.kind: unknown runtime kind "docker" (expected builtin, exec, http)"#),
            ("runtime: {name: echo}",
             #"pool.yaml:4: pools[0].runtime: missing required key "kind""#),
            ("runtime: {kind: builtin}",
             "pool.yaml:4: pools[0].runtime: a builtin runtime needs a name (echo, sleep, fail)"),
            ("runtime: {kind: builtin, name: shout}",
             #"pool.yaml:4: pools[0].runtime.name: unknown builtin runtime "shout" (expected echo, sleep, fail)"#),
            ("runtime: {kind: exec}",
             #"pool.yaml:4: pools[0].runtime: an exec runtime needs a command, e.g. ["python3", "agent.py"]"#),
            ("runtime: {kind: exec, command: []}",
             "pool.yaml:4: pools[0].runtime.command: must name a program (a list of at least one string)"),
            ("runtime: {kind: exec, command: python3}",
             #"pool.yaml:4: pools[0].runtime.command: expected a sequence, found "python3""#),
            ("runtime: {kind: exec, command: [[a]]}",
             "pool.yaml:4: pools[0].runtime.command[0]: expected a string, found a sequence"),
            ("runtime: {kind: exec, command: [\"\"]}",
             "pool.yaml:4: pools[0].runtime.command[0]: must name a program, found an empty string"),
            ("runtime: {kind: exec, command: [a], start_timeout: 0}",
             "pool.yaml:4: pools[0].runtime.start_timeout: must be greater than 0 seconds, found 0 s"),
            ("runtime: {kind: exec, command: [a], env: [A]}",
             "pool.yaml:4: pools[0].runtime.env: expected a mapping, found a sequence"),
            ("runtime: {kind: exec, command: [a], env: {A: {b: c}}}",
             "pool.yaml:4: pools[0].runtime.env.A: expected a string, found a mapping"),
            ("runtime: {kind: exec, command: [a], env: {\"1A\": x}}",
             #"pool.yaml:4: pools[0].runtime.env.1A: "1A" is not an environment variable name (letters, digits and _, not starting with a digit)"#),
            ("runtime: {kind: exec, command: [a], env_from: X}",
             #"pool.yaml:4: pools[0].runtime.env_from: expected a sequence, found "X""#),
            ("runtime: {kind: exec, command: [a], env: {A: x}, env_from: [A]}",
             "pool.yaml:4: pools[0].runtime.env_from[0]: A is also set in env; name it in one of the two"),
            ("runtime: {kind: exec, command: [a], url: \"http://x/\"}",
             "pool.yaml:4: pools[0].runtime.url: unknown key"),
            ("runtime: {kind: http}",
             "pool.yaml:4: pools[0].runtime: an http runtime needs a url (http://host:port/path)"),
            ("runtime: {kind: http, url: \"http://x/\", command: [a]}",
             "pool.yaml:4: pools[0].runtime.command: unknown key"),
            ("runtime: {kind: builtin, name: echo, timeout: 3}",
             "pool.yaml:4: pools[0].runtime.timeout: unknown key"),
            ("runtime: echo",
             #"pool.yaml:4: pools[0].runtime: expected a mapping, found "echo""#),
        ]
        for (line, expected) in cases {
            let text = "pools:\n  - name: a\n    role: b\n    \(line)\n"
            let found = try message(text)
            #expect(found.hasPrefix(expected), "for \(line)")
            #expect(!found.contains("\n"))
        }
    }

    @Test func httpURLsMustBePlainHTTPWithAHost() throws {
        let cases: [(String, String)] = [
            ("https://agents.example.com/run", "https is not supported"),
            ("ftp://x/run", "expected http://host[:port]/path"),
            ("127.0.0.1:9000/run", "expected http://host[:port]/path"),
            ("http:///run", "needs a host name or address"),
            ("http://x:0/run", "has an invalid port (1-65535)"),
            ("http://x:70000/run", "has an invalid port (1-65535)"),
            ("http://x:abc/run", "has an invalid port (1-65535)"),
            ("http://user:secret@x/run", "must not carry credentials"),
            ("https://user:secret@x/run", "https is not supported"),
            ("http://x/run#part", "must not have a fragment"),
            ("http://x/a b", "must not contain spaces"),
        ]
        for (url, expected) in cases {
            let text = "pools:\n  - name: a\n    role: b\n    runtime:\n      kind: http\n      url: \"\(url)\"\n"
            let found = try message(text)
            #expect(found.hasPrefix("pool.yaml:6: pools[0].runtime.url: "), "for \(url): \(found)")
            #expect(found.contains(expected), "for \(url): \(found)")
            #expect(!found.contains("secret"))
        }
        #expect(HTTPEndpoint("http://127.0.0.1:9000/run?x=1").map { [$0.host, "\($0.port)", $0.target] } == ["127.0.0.1", "9000", "/run?x=1"])
        #expect(HTTPEndpoint("http://agents.local").map { [$0.host, "\($0.port)", $0.target, $0.hostHeader] } == ["agents.local", "80", "/", "agents.local"])
        #expect(HTTPEndpoint("http://[::1]:8080/x").map { [$0.host, "\($0.port)", $0.hostHeader] } == ["::1", "8080", "[::1]:8080"])
    }

    @Test func agentPoolsOwnSettingsNeverReachAnAgent() throws {
        for name in ["REDIS_URL", "REDIS_PASSWORD", "POSTGRES_PASSWORD", "PGBOUNCER_URL", "PGPASSWORD", "API_KEYS",
                     "DB_POOL_SIZE", "GATEWAY_PORT", "SPAWN_TIMEOUT", "POOL_CONFIG", "LOG_LEVEL"] {
            for field in ["env_from: [\(name)]", "env: {\(name): x}"] {
                let text = "pools:\n  - name: a\n    role: b\n    runtime: {kind: exec, command: [a], \(field)}\n"
                let found = try message(text)
                #expect(found.contains("\(name) is one of AgentPool's own settings"), "\(field): \(found)")
                #expect(found.hasPrefix("pool.yaml:4: pools[0].runtime.env"), "\(field): \(found)")
            }
        }
        #expect(ReservedEnvironment.contains("REDIS_HOST") && !ReservedEnvironment.contains("OPENAI_API_KEY"))
    }

    @Test func badTaskSettingsNameFileLineAndField() throws {
        let cases: [(String, String)] = [
            ("max_attempts: 0", "pools[0].max_attempts: must be at least 1, found 0"),
            ("max_queued_tasks: 0", "pools[0].max_queued_tasks: must be at least 1, found 0"),
            ("task_concurrency: -1", "pools[0].task_concurrency: must be at least 1, found -1"),
            ("task_concurrency: 1.5", #"pools[0].task_concurrency: expected an integer, found "1.5""#),
            ("task_timeout: 0", "pools[0].task_timeout: must be greater than 0 seconds, found 0 s"),
            ("task_timeout: soon", #"pools[0].task_timeout: expected a number, found "soon""#),
            ("task_retention: -5", "pools[0].task_retention: must be greater than 0 seconds, found -5 s"),
            ("task_retention: .inf", "pools[0].task_retention: must be a finite number of seconds, found inf"),
            ("max_attempt: 3", #"pools[0].max_attempt: unknown key, did you mean "max_attempts"?"#),
        ]
        for (line, expected) in cases {
            let found = try message("pools:\n  - name: a\n    role: b\n    \(line)\n")
            #expect(found.hasPrefix("pool.yaml:4: \(expected)"), "for \(line): \(found)")
        }
        // In defaults, the error points at defaults.
        let found = try message("defaults:\n  runtime: {kind: exec, command: []}\npools:\n  - {name: a, role: b}\n")
        #expect(found.hasPrefix("pool.yaml:2: defaults.runtime.command: must name a program"), "\(found)")
    }

    @Test func aPoolsRuntimeReplacesTheDefaultsWhole() throws {
        let text = """
            defaults:
              runtime: {kind: exec, command: [python3, agent.py], env: {A: "1"}}
            pools:
              - name: a
                role: a
                runtime: {kind: exec, command: [node, agent.js]}
              - name: b
                role: b
            """
        let parsed = try pools(text, file: "/p/pool.yaml")
        #expect(parsed[0].runtime == .exec(ExecRuntime(command: ["node", "agent.js"], workingDirectory: "/p")))
        #expect(parsed[1].runtime == .exec(ExecRuntime(command: ["python3", "agent.py"], workingDirectory: "/p", environment: ["A": "1"])))
    }

    @Test func theExamplesReadmeSnippetParses() throws {
        let text = """
            pools:
              - name: python_pool
                role: worker
                runtime:
                  kind: exec
                  command: ["python3", "examples/agents/python/agent.py"]
                  start_timeout: 10
              - name: chat_pool
                role: chat
                runtime:
                  kind: exec
                  command: ["python3", "examples/agents/openai_chat/agent.py"]
                  env: {MODEL: "gpt-4o-mini", OPENAI_BASE_URL: "https://api.openai.com/v1"}
                  env_from: [OPENAI_API_KEY]
            """
        let parsed = try pools(text, file: repositoryRoot + "/pool.yaml")
        guard case .exec(let python) = parsed[0].runtime else { Issue.record("expected exec"); return }
        #expect(python.command == ["python3", "examples/agents/python/agent.py"])
        #expect(python.workingDirectory == repositoryRoot)
    }
}
