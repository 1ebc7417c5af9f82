import Foundation
import Postgres
import Redis
import Testing

/// A bad pool.yaml stops the manager at start with one line naming file, line and key, and a
/// non-zero exit status; never a crash trace.
@Suite(.serialized) struct BadConfigurationTests {
    static let cases: [(name: String, yaml: String, line: Int, key: String)] = [
        ("wrong-type", "pools:\n  - name: bad_pool\n    role: developer\n    max_agents_per_process: lots\n", 4, "max_agents_per_process"),
        ("unknown-key", "pools:\n  - name: bad_pool\n    role: developer\n    max_agent_per_process: 10\n", 4, "max_agent_per_process"),
        ("negative-size", "defaults:\n  max_agents_per_process: -3\npools:\n  - name: bad_pool\n    role: developer\n", 2, "max_agents_per_process"),
    ]

    @Test(.timeLimit(.minutes(2)), arguments: 0..<3)
    func managerRefusesBadPoolFile(_ index: Int) async throws {
        let environment = try TestEnvironment.load()
        let bad = Self.cases[index]
        let directory = NSTemporaryDirectory() + "agentpool-badconfig-\(bad.name)-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/pool.yaml"
        try bad.yaml.write(toFile: path, atomically: true, encoding: .utf8)

        let manager = try ServiceProcess(
            name: "badconfig-\(bad.name)", executable: environment.executable("manager"), arguments: ["--config", path],
            environment: environment.serviceEnvironment, logDirectory: environment.logDirectory)
        let status = await manager.waitForExit(timeout: .seconds(30))
        let output = manager.log.trimmingCharacters(in: .whitespacesAndNewlines)
        print("[\(bad.name)] exit \(String(describing: status)): \(output)")
        #expect(status != nil && status != 0)
        let lines = output.split(separator: "\n")
        #expect(lines.count == 1, "expected one line, got: \(output)")
        #expect(output.contains("pool.yaml:\(bad.line)"), "no file:line in: \(output)")
        #expect(output.contains(bad.key), "no key in: \(output)")
        #expect(!output.contains("Fatal error"))
    }

    @Test(.timeLimit(.minutes(2)))
    func badSettingStopsTheGatewayWithTheVariableName() async throws {
        let environment = try TestEnvironment.load()
        var variables = environment.serviceEnvironment
        variables["GATEWAY_PORT"] = "eighty"
        let gateway = try ServiceProcess(
            name: "badconfig-gateway-port", executable: environment.executable("gateway"),
            arguments: ["--config", environment.repository + "/pool.yaml"], environment: variables,
            logDirectory: environment.logDirectory)
        let status = await gateway.waitForExit(timeout: .seconds(30))
        let output = gateway.log.trimmingCharacters(in: .whitespacesAndNewlines)
        print("[gateway port] exit \(String(describing: status)): \(output)")
        #expect(status != nil && status != 0)
        #expect(output.contains("GATEWAY_PORT"))
        #expect(output.split(separator: "\n").count == 1)
    }
}
