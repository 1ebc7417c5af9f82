import Foundation
import PoolProtocol
import Postgres
import Redis
import Testing
import TestSupport

/// `/metrics` of all three services is Prometheus text and moves when agents are spawned.
@Suite(.serialized) struct MetricsTests {
    /// Parses Prometheus text exposition: `# HELP`/`# TYPE` comments and
    /// `name{label="value",...} number` samples. Returns samples by series, or nil when a line
    /// is malformed.
    static func parse(_ text: String) -> [String: Double]? {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("#") {
                guard line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") else { return nil }
                continue
            }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) ?? (line.hasSuffix("+Inf") ? .infinity : nil) else {
                return nil
            }
            let series = String(line[..<space])
            let name = series.prefix { $0 != "{" }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }) else { return nil }
            if series.contains("{"), !series.hasSuffix("}") { return nil }
            samples[series] = value
        }
        return samples
    }

    static func total(_ samples: [String: Double], _ name: String, containing: String = "") -> Double {
        samples.filter { sample in
            (sample.key == name || sample.key.hasPrefix(name + "{")) && (containing.isEmpty || sample.key.contains(containing))
        }.values.reduce(0, +)
    }

    @Test(.timeLimit(.minutes(3)))
    func everyServiceServesPrometheusTextThatMoves() async throws {
        let yaml = "  - name: {pool}\n    role: developer\n    min_workers: 0\n    launcher: external\n"
        try await TestStack.with(name: "metrics", poolYAML: yaml) { stack in
            let workerPort = try Loopback.freePort()
            let managerPort = try Loopback.freePort()
            let worker = try stack.startWorker(label: "metrics", arguments: ["--metrics-port", String(workerPort)])
            try await stack.startManager(minimumWorkers: 1, arguments: ["--metrics-port", String(managerPort)])
            try await stack.startGateway()
            let managerMetrics = HTTPClient(baseURL: "http://127.0.0.1:\(managerPort)")
            let workerMetrics = HTTPClient(baseURL: "http://127.0.0.1:\(workerPort)")
            try await Poll.until("the metrics ports to answer") {
                let manager = try await managerMetrics.get("/metrics").status
                let worker = try await workerMetrics.get("/metrics").status
                return manager == 200 && worker == 200
            }

            for _ in 0..<3 { #expect(try await stack.spawn().status == 201) }
            let pool = stack.pools[0]
            try await Poll.until("the manager to publish its gauges", timeout: .seconds(10)) {
                let samples = Self.parse(try await managerMetrics.get("/metrics").text) ?? [:]
                return Self.total(samples, "agentpool_placed_agents", containing: pool) == 3
                    && Self.total(samples, "agentpool_agents", containing: "status=\"running\"") == 3
            }

            let gatewayReply = try await stack.http.get("/metrics")
            #expect(gatewayReply.status == 200)
            #expect(gatewayReply.headers["content-type"]?.hasPrefix("text/plain") == true)
            let gateway = try #require(Self.parse(gatewayReply.text), "gateway metrics are not Prometheus text")
            #expect(Self.total(gateway, "agentpool_spawn_duration_seconds_count", containing: "outcome=\"ok\"") >= 3)
            #expect(Self.total(gateway, "hb_requests") >= 3)
            // Free slots existed, so the gateway placed each spawn itself, without the manager.
            #expect(Self.total(gateway, "agentpool_spawn_placements_total", containing: "by=\"gateway\"") == 3)

            let manager = try #require(Self.parse(try await managerMetrics.get("/metrics").text))
            #expect(Self.total(manager, "agentpool_workers", containing: pool) == 1)
            #expect(Self.total(manager, "agentpool_desired_workers", containing: pool) == 1)
            #expect(Self.total(manager, "agentpool_free_slots", containing: pool) == 7)
            #expect(Self.total(manager, "agentpool_agents", containing: "status=\"running\"") == 3)
            #expect(Self.total(manager, "agentpool_agents", containing: "status=\"pending\"") == 0)
            let heartbeatAge = Self.total(manager, "agentpool_heartbeat_age_seconds", containing: pool)
            #expect(manager.keys.contains { $0.hasPrefix("agentpool_heartbeat_age_seconds") })
            #expect(heartbeatAge >= 0 && heartbeatAge < 60, "heartbeat age \(heartbeatAge) s")

            let workerReply = try await workerMetrics.get("/metrics")
            #expect(workerReply.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
            // The small metrics server answers nothing else, and says so.
            #expect(try await workerMetrics.get("/elsewhere").status == 404)
            let wrongMethod = try await workerMetrics.send("POST", "/metrics")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.headers["allow"] == "GET, HEAD")

            let workerSamples = try #require(Self.parse(workerReply.text))
            let lastHeartbeat = Self.total(workerSamples, "agentpool_worker_last_heartbeat_timestamp_seconds")
            #expect(abs(lastHeartbeat - Date().timeIntervalSince1970) < 120, "last heartbeat at \(lastHeartbeat)")
            #expect(Self.total(workerSamples, "agentpool_worker_hosted_agents") == 3)
            #expect(Self.total(workerSamples, "agentpool_worker_agent_starts_total") == 3)

            // The reference parser accepts all three and finds the families that moved.
            let texts = [
                ("gateway", try await stack.http.get("/metrics").text),
                ("manager", try await managerMetrics.get("/metrics").text),
                ("worker", try await workerMetrics.get("/metrics").text),
            ]
            var families: [String: [String: (type: String, samples: Int)]] = [:]
            for (service, text) in texts { families[service] = try PrometheusParser.families(in: text) }
            #expect(families["gateway"]?["agentpool_spawn_duration_seconds"]?.type == "histogram")
            #expect(families["gateway"]?["hb_requests"]?.type == "counter")
            #expect(families["manager"]?["agentpool_placements"]?.type == "counter")
            #expect(families["manager"]?["agentpool_agents"]?.type == "gauge")
            #expect(families["worker"]?["agentpool_worker_hosted_agents"]?.type == "gauge")
            print("prometheus_client families: " + texts.map { "\($0.0) \(families[$0.0]?.count ?? 0)" }.joined(separator: ", "))
            withExtendedLifetime(worker) {}
        }
    }
}
