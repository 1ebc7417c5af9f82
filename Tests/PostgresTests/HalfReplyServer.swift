import Foundation
import Testing
import TestSupport

/// A loopback server that speaks just enough of PostgreSQL's protocol to log a client in
/// (no SSL, no authentication), then answers the first statement with half a message and
/// closes the connection: a server that dies mid-reply, byte-exact.
final class HalfReplyServer: Sendable {
    let port: Int
    private let listener: Int32

    init() throws {
        let (listener, port) = try Loopback.listeningSocket(backlog: 4)
        self.listener = listener
        self.port = port
        let thread = Thread { [listener] in Self.serve(listener) }
        thread.start()
    }

    /// Stops accepting (the serving thread ends on the failed accept).
    func close() { shutdown(listener, Int32(SHUT_RDWR)) }

    private static func serve(_ listener: Int32) {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            handle(client)
            closeDescriptor(client)
        }
    }

    private static func handle(_ client: Int32) {
        // SSLRequest / GSSENCRequest (code 80877103 / 80877104) get 'N'; then the startup message.
        while true {
            guard let message = readStartup(client) else { return }
            let code = message.count >= 4 ? message.prefix(4).reduce(0) { $0 << 8 | Int($1) } : 0
            if code == 80_877_103 || code == 80_877_104 {
                send(client, [UInt8(ascii: "N")])
                continue
            }
            break
        }
        // AuthenticationOk, BackendKeyData, ReadyForQuery (idle).
        send(client, [UInt8(ascii: "R"), 0, 0, 0, 8, 0, 0, 0, 0])
        send(client, [UInt8(ascii: "K"), 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 2])
        send(client, [UInt8(ascii: "Z"), 0, 0, 0, 5, UInt8(ascii: "I")])
        // The statement (Parse, Bind, Describe, Execute, Sync): read what comes, then answer
        // ParseComplete, BindComplete and the first 7 bytes of a RowDescription announcing 200.
        var buffer = [UInt8](repeating: 0, count: 4096)
        guard read(client, &buffer, buffer.count) > 0 else { return }
        send(client, [UInt8(ascii: "1"), 0, 0, 0, 4, UInt8(ascii: "2"), 0, 0, 0, 4])
        send(client, [UInt8(ascii: "T"), 0, 0, 0, 200, 0, 1])
        usleep(100_000)
    }

    /// A length-prefixed startup-phase message (without its length), or nil at EOF.
    private static func readStartup(_ client: Int32) -> [UInt8]? {
        guard let header = readExactly(client, 4) else { return nil }
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        guard length >= 4, length < 100_000 else { return nil }
        return readExactly(client, length - 4)
    }

    private static func readExactly(_ client: Int32, _ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes.withUnsafeMutableBytes { read(client, $0.baseAddress! + done, count - done) }
            guard got > 0 else { return nil }
            done += got
        }
        return bytes
    }

    private static func send(_ client: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { write(client, $0.baseAddress!, bytes.count) }
    }
}

/// close(2), for types whose own `close()` hides the free function.
func closeDescriptor(_ descriptor: Int32) { close(descriptor) }
