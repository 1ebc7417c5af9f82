import Foundation
import Testing

/// Slow clients cannot hold gateway connections (slowloris): half a request head, a body
/// trickled byte by byte, or an idle connection are closed after `GATEWAY_IDLE_TIMEOUT`,
/// while everyone else is answered meanwhile.
@Suite(.serialized) struct GatewayConnectionLimitsTests {
    @Test(.timeLimit(.minutes(3)))
    func slowClientsAreDisconnected() async throws {
        try await TestStack.with(name: "slowloris", poolYAML: GatewaySecurityTests.pool) { stack in
            let (gateway, port, client) = try await GatewaySecurityTests.gateway(stack, environment: ["GATEWAY_IDLE_TIMEOUT": "2"])
            defer { kill(gateway.pid, SIGKILL) }

            let started = ContinuousClock.now
            let halfHead = try RawConnection(port: port)
            try halfHead.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            let idle = try RawConnection(port: port)
            let slowBody = try RawConnection(port: port)
            try slowBody.send(
                "POST /api/v1/agents/pools/\(stack.pools[0])/agents HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
            // One byte every half second keeps an idle timer alive, but not the request bound.
            let trickle = Task {
                for _ in 0..<60 {
                    try await Task.sleep(for: .milliseconds(500))
                    do { try slowBody.send(" ") } catch { return }
                }
            }
            // Meanwhile other clients are served.
            for _ in 0..<5 {
                #expect(try await client.get("/healthz").status == 200)
                try await Task.sleep(for: .milliseconds(200))
            }
            async let halfHeadEnd = halfHead.readUntilClosed(timeout: .seconds(20))
            async let idleEnd = idle.readUntilClosed(timeout: .seconds(20))
            async let slowBodyEnd = slowBody.readUntilClosed(timeout: .seconds(20))
            let ends = await [("half a head", halfHeadEnd), ("idle", idleEnd), ("slow body", slowBodyEnd)]
            trickle.cancel()
            for (what, end) in ends {
                print("\(what): closed by the gateway: \(end.closed), after \(ContinuousClock.now - started) at the latest")
                #expect(end.closed, "\(what): the gateway kept the connection open for 20 s")
            }
            #expect(try await client.get("/healthz").status == 200)
            #expect(gateway.isRunning)
        }
    }
}
