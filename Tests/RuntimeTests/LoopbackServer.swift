import Foundation
import Testing

/// A small Python HTTP server on loopback, a real process the tests talk to: it answers like
/// an http agent (`/ok`, `/notfound`, `/boom`, `/slow`, `/big`, `/text`) and like an
/// OpenAI-compatible chat API (`/v1/chat/completions`).
final class LoopbackServer: Sendable {
    let port: Int
    let pid: pid_t
    private let folder: String

    static let script = #"""
    import json, sys, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status, body, content_type="application/json"):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            request = json.loads(self.rfile.read(length) or b"null")
            path = self.path
            if path == "/ok":
                self.answer(200, {"echo": request["input"], "attempt": request["attempt"], "agent": request["agent"],
                                  "task_id": request["task_id"], "host": self.headers.get("Host")})
            elif path == "/notfound":
                self.answer(404, {"error": "no such thing"})
            elif path == "/teapot":
                self.answer(418, b"short and stout", "text/plain")
            elif path == "/boom":
                self.answer(500, {"error": {"message": "exploded"}})
            elif path == "/slow":
                time.sleep(30)
                self.answer(200, {})
            elif path == "/big":
                self.answer(200, b'"' + b"z" * (20 << 20) + b'"')
            elif path == "/text":
                self.answer(200, b"not json", "text/plain")
            elif path == "/v1/chat/completions":
                model = request.get("model")
                if model == "rate-limited":
                    self.answer(429, {"error": {"message": "slow down"}})
                elif model == "unknown-model":
                    self.answer(404, {"error": {"message": "model not found"}})
                elif model == "broken":
                    self.answer(503, {"error": {"message": "overloaded"}})
                else:
                    messages = request["messages"]
                    last = messages[-1]["content"]
                    if self.headers.get("Authorization") != "Bearer sk-test":
                        self.answer(401, {"error": {"message": "bad key"}})
                        return
                    self.answer(200, {"model": model, "choices": [{"index": 0, "message": {"role": "assistant",
                        "content": "you said %s (%d messages)" % (last, len(messages))}}]})
            else:
                self.answer(404, {"error": "unknown path " + path})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()
    """#

    init() async throws {
        folder = try temporaryFolder()
        let scriptPath = folder + "/server.py"
        let portFile = folder + "/port"
        try Self.script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let arguments: [String] = [pythonExecutable, scriptPath, portFile]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, pythonExecutable, nil, nil, argv, environ)
        try #require(spawned == 0, "cannot start python3: errno \(spawned)")
        self.pid = pid
        let deadline = ContinuousClock.now + .seconds(20)
        var port: Int?
        while port == nil, ContinuousClock.now < deadline {
            port = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0) }
            if port == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        guard let port else {
            kill(pid, SIGKILL)
            throw TimedOut()
        }
        self.port = port
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

/// A loopback port nobody listens on (bound, then closed).
func closedPort() -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
