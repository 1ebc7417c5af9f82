import Foundation
import Postgres
import Testing
import TestSupport

/// What the gateway refuses to anyone who can reach it: metrics under another spelling,
/// made-up methods, oversized names and Idempotency-Keys.
@Suite(.serialized) struct GatewaySecurityTests {
    static let pool = "  - name: {pool}\n    role: developer\n    min_workers: 0\n"

    /// Starts a gateway of the stack's pool file with `environment` added; stop it when done.
    static func gateway(_ stack: TestStack, environment extra: [String: String]) async throws -> (ServiceProcess, Int, HTTPClient) {
        let port = try Loopback.freePort()
        var environment = stack.environment.serviceEnvironment
        environment["GATEWAY_PORT"] = String(port)
        environment.merge(extra) { $1 }
        let process = try ServiceProcess(
            name: "\(stack.pools[0])-gateway-\(port)", executable: stack.environment.executable("gateway"),
            arguments: ["--config", stack.configPath], environment: environment, logDirectory: stack.environment.logDirectory)
        let client = HTTPClient(baseURL: "http://127.0.0.1:\(port)")
        try await Poll.until("the gateway to be ready") { try await client.get("/readyz").status == 200 }
        return (process, port, client)
    }

    static func port(of client: HTTPClient) throws -> Int {
        guard let port = client.baseURL.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw SetupError("no port in \(client.baseURL)")
        }
        return port
    }

    @Test(.timeLimit(.minutes(3)))
    func metricsOnlyAtTheExactPath() async throws {
        try await TestStack.with(name: "metricspath", poolYAML: Self.pool) { stack in
            try await stack.startGateway()
            let port = try Self.port(of: stack.http)
            #expect(try await RawConnection.status(port: port, path: "/metrics") == 200)
            for path in ["/metrics/", "/metrics//", "//metrics", "///metrics/", "/./metrics", "/METRICS", "/%6detrics", "/metrics%2F"] {
                let status = try await RawConnection.status(port: port, path: path)
                #expect(status == 404, "GET \(path) → \(status)")
            }
            // Made-up methods are refused by the HTTP parser (it knows a fixed list), before the
            // request metrics could label a series with them: their label set stays bounded.
            for method in ["FOO1", "FOO2", "BREW"] {
                let status = try await RawConnection.status(port: port, method: method, path: "/healthz")
                #expect(status == 400, "\(method) /healthz → \(status)")
            }
            let metrics = try await stack.http.get("/metrics").text
            #expect(!metrics.contains("FOO1") && !metrics.contains("BREW"), "made-up methods show in the metrics")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func namesAreBoundedInScalarsAndBytes() async throws {
        try await TestStack.with(name: "namebounds", poolYAML: Self.pool) { stack in
            try await stack.startGateway()
            // One grapheme, 150,001 scalars, 300 KB: counted in Characters it was "1 character".
            let combining = "a" + String(repeating: "\u{0301}", count: 150_000)
            let oversized: [(String, String)] = [
                ("one letter + 150000 combining marks", combining),
                ("129 ASCII letters", String(repeating: "x", count: 129)),
                ("129 emoji (516 bytes)", String(repeating: "😀", count: 129)),
            ]
            for (what, name) in oversized {
                let body = try JSONSerialization.data(withJSONObject: ["name": name])
                let reply = try await stack.http.send("POST", "/api/v1/agents/pools/\(stack.pools[0])/agents", body: body)
                #expect(reply.status == 422, "\(what) → \(reply.status) \(reply.text.prefix(200))")
                let error = (try? reply.json() as? [String: [String: String]])?["error"]
                #expect(error?["message"]?.contains("scalars") == true, "\(what): \(reply.text.prefix(200))")
            }
            // Within the bounds the name passes validation: no manager serves the pool, so 503.
            for name in [String(repeating: "x", count: 128), String(repeating: "😀", count: 128)] {
                let body = try JSONSerialization.data(withJSONObject: ["name": name])
                let reply = try await stack.http.send("POST", "/api/v1/agents/pools/\(stack.pools[0])/agents", body: body)
                #expect(reply.status == 503, "\(name.unicodeScalars.count) scalars → \(reply.status) \(reply.text.prefix(200))")
            }
            // Idempotency-Key: bounded and visible ASCII only.
            for key in [String(repeating: "k", count: 256), "a b"] {
                let reply = try await stack.spawn(idempotencyKey: key)
                #expect(reply.status == 400, "Idempotency-Key of \(key.utf8.count) bytes → \(reply.status)")
            }
            let rows = try await stack.postgres.query("SELECT count(*) AS n FROM agents WHERE pool_name = $1", [stack.pools[0]])
            #expect(rows.rows.first?["n"] == "0")
        }
    }
}
