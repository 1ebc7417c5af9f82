import Foundation
import TestSupport

/// A TCP forwarder on a free loopback port in front of another port (a small Python process),
/// so that a test can cut one service off from Redis while the others still reach it:
/// SIGSTOP freezes every connection through it (calls hang as on a broken network, and new
/// connections are accepted by the kernel but never answered), SIGCONT restores them.
final class TCPProxy: @unchecked Sendable {
    let port: Int
    private let process: ServiceProcess

    private static let script = """
        import socket, sys, threading
        listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", listen_port))
        server.listen(128)
        def pipe(source, target):
            try:
                while True:
                    data = source.recv(65536)
                    if not data:
                        break
                    target.sendall(data)
            except OSError:
                pass
            finally:
                for end in (source, target):
                    try:
                        end.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
        while True:
            client, _ = server.accept()
            try:
                upstream = socket.create_connection(("127.0.0.1", target_port))
            except OSError:
                client.close()
                continue
            threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        """

    init(to targetPort: Int, logDirectory: String) async throws {
        port = try Loopback.freePort()
        process = try ServiceProcess(
            name: "tcp-proxy-\(port)", executable: "/usr/bin/python3", arguments: ["-c", Self.script, String(port), String(targetPort)],
            environment: ProcessInfo.processInfo.environment, logDirectory: logDirectory)
        let port = port
        try await Poll.until("the proxy to listen", timeout: .seconds(10)) { Loopback.isListening(port) }
    }

    /// Freezes every connection through the proxy.
    func cut() { kill(process.pid, SIGSTOP) }

    /// Lets traffic flow again.
    func restore() { kill(process.pid, SIGCONT) }

    func stop() async {
        restore()
        await process.stop(signal: SIGKILL)
    }
}
