import Foundation
import Postgres
import Redis
import Testing

/// Health endpoints stay open; `/api/v1` needs a key when keys are configured; errors are the
/// contract's JSON.
@Suite(.serialized) struct GatewayAccessTests {
    @Test(.timeLimit(.minutes(3)))
    func apiKeysGuardTheAPIButNotHealth() async throws {
        try await TestStack.with(name: "auth", poolYAML: "  - name: {pool}\n    role: developer\n    min_workers: 0\n") { stack in
            try await stack.startGateway(apiKeys: "k-one,k-two")
            var anonymous = stack.http
            anonymous.apiKey = nil
            #expect(try await anonymous.get("/healthz").status == 200)
            #expect(try await anonymous.get("/readyz").status == 200)

            let refused = try await anonymous.get("/api/v1/agents/pools")
            #expect(refused.status == 401)
            #expect((try refused.json() as? [String: [String: String]])?["error"]?["code"] == "unauthorized")
            // 401 comes before 404 and 405 (contract: status order).
            #expect(try await anonymous.get("/api/v1/agents/pools/nope").status == 401)
            #expect(try await anonymous.send("PUT", "/api/v1/agents/pools").status == 401)

            // Any path under /api/v1, existing or not, however spelled, needs the key.
            for path in ["/api/v1/nonexistent", "//api/v1/agents/pools", "/%61pi/v1/agents/pools", "/api/v1"] {
                #expect(try await anonymous.get(path).status == 401, "\(path)")
            }
            #expect(try await anonymous.get("/openapi.json").status == 200)
            #expect(try await anonymous.get("/metrics").status == 200)

            var wrong = stack.http
            wrong.apiKey = "k-three"
            #expect(try await wrong.get("/api/v1/agents/pools").status == 401)

            var second = stack.http
            second.apiKey = "k-two"
            #expect(try await second.get("/api/v1/agents/pools").status == 200)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func badRequestsGetJSONErrors() async throws {
        try await TestStack.with(name: "errors", poolYAML: "  - name: {pool}\n    role: developer\n    min_workers: 0\n") { stack in
            try await stack.startGateway()
            let pool = stack.pools[0]
            let cases: [(String, String, Data?, [String: String], Int)] = [
                ("GET", "/nowhere", nil, [:], 404),
                ("GET", "/api/v1/agents/not-a-uuid", nil, [:], 404),
                ("GET", "/api/v1/agents/\(UUID().uuidString)", nil, [:], 404),
                ("POST", "/api/v1/agents/pools/\(pool)/agents", Data("{".utf8), [:], 400),
                ("POST", "/api/v1/agents/pools/\(pool)/agents", Data(#"{"name": 5}"#.utf8), [:], 422),
                ("POST", "/api/v1/agents/pools/\(pool)/agents", Data(#"{"nmae": "x"}"#.utf8), [:], 422),
                ("POST", "/api/v1/agents/pools/\(pool)/agents", Data("[]".utf8), [:], 422),
                ("POST", "/api/v1/agents/pools/\(pool)/agents", Data("x=1".utf8), ["Content-Type": "text/plain"], 415),
                ("POST", "/api/v1/agents/pools/\(pool)/agents", Data(count: 2 * 1024 * 1024), [:], 413),
                ("GET", "/api/v1/agents?status=sleeping", nil, [:], 422),
                ("GET", "/api/v1/agents?pool=nope", nil, [:], 404),
                ("PUT", "/api/v1/agents/pools", nil, [:], 405),
                ("POST", "/api/v1/agents/\(UUID().uuidString)", nil, [:], 405),
                ("POST", "/api/v1/agents/pools/\(pool)/agents", Data(#"{"metadata":{"a":"x\u0000y"}}"#.utf8), [:], 422),
                ("POST", "/api/v1/agents/pools/\(pool)/agents", Data(#"{"name":"a\u0007b"}"#.utf8), [:], 422),
            ]
            for (method, path, body, headers, expected) in cases {
                let reply = try await stack.http.send(method, path, body: body, headers: headers)
                #expect(reply.status == expected, "\(method) \(path.prefix(60)) → \(reply.status) \(reply.text.prefix(200))")
                let error = (try? reply.json() as? [String: [String: String]])?["error"]
                #expect(error?["code"] != nil && error?["message"] != nil, "not the JSON error: \(reply.text.prefix(200))")
            }
            // No manager serves the pool: 503 with Retry-After, and nothing recorded.
            let unserved = try await stack.http.send("POST", "/api/v1/agents/pools/\(pool)/agents")
            #expect(unserved.status == 503)
            #expect(unserved.headers["retry-after"] == "5")
            let rows = try await stack.postgres.query("SELECT count(*) AS n FROM agents WHERE pool_name = $1", [pool])
            #expect(rows.rows.first?["n"] == "0")
            let wrongMethod = try await stack.http.send("PUT", "/api/v1/agents/pools")
            #expect(wrongMethod.headers["allow"] == "GET")
            // Every route's methods, as registered: a literal segment wins over a parameter.
            let allowed: [(String, String, Set<String>)] = [
                ("POST", "/", ["GET", "HEAD"]), ("DELETE", "/healthz", ["GET"]), ("PUT", "/dashboard/app.js", ["GET", "HEAD"]),
                ("GET", "/api/v1/agents/pools/\(pool)/agents", ["POST"]), ("POST", "/api/v1/agents/pools/\(pool)", ["GET"]),
                ("PUT", "/api/v1/agents/\(UUID().uuidString)", ["GET", "DELETE"]), ("DELETE", "/api/v1/processes", ["GET"]),
            ]
            for (method, path, methods) in allowed {
                let reply = try await stack.http.send(method, path)
                #expect(reply.status == 405, "\(method) \(path) → \(reply.status)")
                let header = reply.headers["allow"] ?? ""
                #expect(Set(header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) == methods, "\(method) \(path): Allow \(header)")
            }
            #expect(try await stack.http.send("PUT", "/api/v1/agents/pools/\(pool)/agents/extra").status == 404)
            let document = try await stack.http.get("/openapi.json")
            #expect(document.status == 200)
            #expect((try document.json() as? [String: Any])?["openapi"] as? String == "3.0.3")
        }
    }
}
