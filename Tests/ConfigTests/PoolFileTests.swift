import Foundation
import PoolConfig
import Testing

/// Parses `text` as a pool file, expecting it to fail, and returns the error.
func poolFileError(_ text: String, file: String = "pool.yaml") -> ConfigurationError? {
    do {
        _ = try PoolFile.parse(text, fileName: file)
        return nil
    } catch {
        return error
    }
}

/// The repository's root, found from this file's path (Tests/ConfigTests/<file>).
let repositoryRoot: String = {
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

@Suite struct PoolFileTests {
    @Test func repositoryPoolFileDefinesTheSeedsFourPools() throws {
        let file = try PoolFile.load(path: repositoryRoot + "/pool.yaml")
        #expect(file.pools.map(\.name) == ["team_leader_pool", "business_analyst_pool", "developer_pool", "tester_pool"])
        #expect(file.pools.map(\.role) == ["team_leader", "business_analyst", "developer", "tester"])
        for pool in file.pools {
            #expect(pool == PoolDefinition(name: pool.name, role: pool.role))
            #expect(pool.maxAgentsPerProcess == 10 && pool.heartbeatInterval == .seconds(30))
            #expect(pool.staleAfter == .seconds(300) && pool.idleTimeout == .seconds(600))
            #expect(pool.minWorkers == 1 && pool.maxWorkers == 10 && pool.launcher == .process)
        }
        #expect(file.pool(named: "developer_pool")?.role == "developer")
        #expect(file.pool(named: "nope") == nil)
    }

    @Test func theContainerPoolFileLoadsWithItsExecAgent() throws {
        let file = try PoolFile.load(path: repositoryRoot + "/deploy/pool.compose.yaml")
        #expect(file.pools.map(\.name) == ["team_leader_pool", "business_analyst_pool", "developer_pool", "tester_pool"])
        #expect(file.pools.allSatisfy { $0.launcher == .external })
        guard case .exec(let exec)? = file.pool(named: "developer_pool")?.runtime else {
            Issue.record("developer_pool should run an exec agent")
            return
        }
        #expect(exec.command == ["python3", "/srv/agents/python/agent.py"])
        // The program the image puts there is the repository's example agent.
        #expect(FileManager.default.fileExists(atPath: repositoryRoot + "/examples/agents/python/agent.py"))
        #expect(file.pool(named: "tester_pool")?.runtime == .standard)
    }

    @Test func poolsOverrideDefaultsAndDefaultsOverrideBuiltIns() throws {
        let text = """
            defaults:
              max_agents_per_process: 5
              heartbeat_interval: 0.5
              stale_after: 3
              launcher: external
              worker_path: /usr/local/bin/worker
              worker_arguments: ["--log-level", "debug"]
            pools:
              - name: developer_pool
                role: developer
                max_agents_per_process: 20
                launcher: process
                worker_arguments: []
              - name: tester-pool
                role: tester
                idle_timeout: 0
                min_workers: 0
                max_workers: 1
            """
        let file = try PoolFile.parse(text, fileName: "pool.yaml")
        #expect(file.path == "pool.yaml")
        #expect(file.pools[0] == PoolDefinition(
            name: "developer_pool", role: "developer", maxAgentsPerProcess: 20,
            heartbeatInterval: .milliseconds(500), staleAfter: .seconds(3), launcher: .process,
            workerPath: "/usr/local/bin/worker", workerArguments: []))
        #expect(file.pools[1] == PoolDefinition(
            name: "tester-pool", role: "tester", maxAgentsPerProcess: 5,
            heartbeatInterval: .milliseconds(500), staleAfter: .seconds(3),
            minWorkers: 0, maxWorkers: 1, idleTimeout: .zero, launcher: .external,
            workerPath: "/usr/local/bin/worker", workerArguments: ["--log-level", "debug"]))
    }

    // The three bad files the issue names: each gives one line with file, line and key.

    @Test func wrongTypeNamesFileLineAndKey() throws {
        let text = "pools:\n  - name: a\n    role: b\n    max_agents_per_process: ten\n"
        let error = try #require(poolFileError(text))
        #expect(error.description == #"pool.yaml:4: pools[0].max_agents_per_process: expected an integer, found "ten""#)
        #expect(!error.description.contains("\n"))
    }

    @Test func unknownPoolKeyNamesFileLineAndKey() throws {
        let text = "pools:\n  - name: a\n    role: b\n  - name: c\n    role: d\n    max_agent_per_process: 3\n"
        let error = try #require(poolFileError(text))
        #expect(error.source == "pool.yaml" && error.line == 6 && error.key == "pools[1].max_agent_per_process")
        #expect(error.description.hasPrefix(#"pool.yaml:6: pools[1].max_agent_per_process: unknown key, did you mean "max_agents_per_process"? (known keys: name, role, max_agents_per_process, heartbeat_interval"#))
    }

    @Test func negativeSizeNamesFileLineAndKey() throws {
        let text = "pools:\n  - name: a\n    role: b\n  - name: c\n    role: d\n  - name: e\n    role: f\n    max_agents_per_process: -3\n"
        let error = try #require(poolFileError(text))
        #expect(error.description == "pool.yaml:8: pools[2].max_agents_per_process: must be at least 1, found -3")
    }

    @Test(arguments: [
        // (text, line, key, message start)
        ("pools: []", 1, "pools", "must list at least one pool"),
        ("defaults:\n  min_workers: 1\n", 1, "", #"missing required key "pools""#),
        ("pools:\n  - name: a\n", 2, "pools[0]", #"missing required key "role""#),
        ("pools:\n  - name: Dev\n    role: d\n", 2, "pools[0].name", "must start with a lowercase letter"),
        ("pools:\n  - name: 9dev\n    role: d\n", 2, "pools[0].name", "must start with a lowercase letter"),
        ("pools:\n  - name: dev pool\n    role: d\n", 2, "pools[0].name", "must start with a lowercase letter"),
        ("pools:\n  - name: \(String(repeating: "a", count: 64))\n    role: d\n", 2, "pools[0].name", "must start"),
        ("pools:\n  - name: a\n    role: \"\"\n", 3, "pools[0].role", "must not be empty"),
        ("pools:\n  - name: a\n    role: Dev:x\n", 3, "pools[0].role", "must start with a lowercase letter"),
        ("pools:\n  - name: a\n    role: r\n  - name: a\n    role: s\n", 4, "pools[1].name", #"duplicate pool name "a" (first defined on line 2)"#),
        ("pools:\n  - name: a\n    role: r\n    max_agents_per_process: 0\n", 4, "pools[0].max_agents_per_process", "must be at least 1, found 0"),
        ("pools:\n  - name: a\n    role: r\n    max_agents_per_process: 100001\n", 4, "pools[0].max_agents_per_process", "must be at most 100000"),
        ("pools:\n  - name: a\n    role: r\n    heartbeat_interval: 0\n", 4, "pools[0].heartbeat_interval", "must be greater than 0 seconds, found 0 s"),
        ("pools:\n  - name: a\n    role: r\n    heartbeat_interval: .nan\n", 4, "pools[0].heartbeat_interval", "must be a finite number"),
        ("pools:\n  - name: a\n    role: r\n    stale_after: -1\n", 4, "pools[0].stale_after", "must be greater than 0 seconds"),
        ("pools:\n  - name: a\n    role: r\n    stale_after: 1e12\n", 4, "pools[0].stale_after", "must be at most 1000000000 s"),
        ("pools:\n  - name: a\n    role: r\n    stale_after: 30\n", 4, "pools[0].stale_after", "must be greater than heartbeat_interval (30 s by default), found 30 s"),
        ("pools:\n  - name: a\n    role: r\n    heartbeat_interval: 400\n", 4, "pools[0].heartbeat_interval", "must be less than stale_after (300 s by default), found 400 s"),
        ("defaults:\n  stale_after: 10\npools:\n  - name: a\n    role: r\n", 2, "defaults.stale_after", "must be greater than heartbeat_interval (30 s by default), found 10 s"),
        ("defaults:\n  stale_after: 10\npools:\n  - name: a\n    role: r\n    heartbeat_interval: 20\n", 6, "pools[0].heartbeat_interval", "must be less than stale_after (10 s from defaults, line 2), found 20 s"),
        ("pools:\n  - name: a\n    role: r\n    min_workers: -1\n", 4, "pools[0].min_workers", "must be at least 0, found -1"),
        ("pools:\n  - name: a\n    role: r\n    max_workers: 0\n", 4, "pools[0].max_workers", "must be at least 1, found 0"),
        ("pools:\n  - name: a\n    role: r\n    min_workers: 11\n", 4, "pools[0].min_workers", "must not exceed max_workers (10 by default), found 11"),
        ("defaults:\n  min_workers: 5\npools:\n  - name: a\n    role: r\n    max_workers: 2\n", 6, "pools[0].max_workers", "must be at least min_workers (5 from defaults, line 2), found 2"),
        ("pools:\n  - name: a\n    role: r\n    idle_timeout: -5\n", 4, "pools[0].idle_timeout", "must be at least 0 seconds, found -5 s"),
        ("pools:\n  - name: a\n    role: r\n    launcher: docker\n", 4, "pools[0].launcher", #"unknown launcher "docker" (expected process or external)"#),
        ("defaults:\n  launcher: k8s\npools:\n  - name: a\n    role: r\n", 2, "defaults.launcher", "unknown launcher"),
        ("pools:\n  - name: a\n    role: r\n    worker_path: \"\"\n", 4, "pools[0].worker_path", "must not be empty"),
        ("pools:\n  - name: a\n    role: r\n    worker_arguments: --verbose\n", 4, "pools[0].worker_arguments", "expected a sequence"),
        ("defaults:\n  name: x\npools:\n  - name: a\n    role: r\n", 2, "defaults.name", "unknown key"),
        ("pool:\n  - name: a\n", 1, "", #"missing required key "pools" ("pool" on line 1 looks like a typo of it)"#),
        ("pools:\n  - name: a\n    role: r\n  - name: b\n  role: s\n", 5, "", "syntax error"),
    ])
    func validationRulesNameLineAndKey(text: String, line: Int, key: String, message: String) throws {
        let error = try #require(poolFileError(text), "\(text)")
        #expect(error.line == line, "\(error)")
        #expect(error.key == key, "\(error)")
        #expect(error.message.hasPrefix(message), "\(error)")
        #expect(error.source == "pool.yaml")
    }

    @Test func loadNamesAMissingFile() throws {
        let path = repositoryRoot + "/no-such-pool.yaml"
        do {
            _ = try PoolFile.load(path: path)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "\(path): file not found")
            #expect(error.code == .unreadableFile)
        }
        do {
            _ = try PoolFile.load(path: repositoryRoot)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.hasPrefix("\(repositoryRoot): cannot read the file"))
        }
    }
}
