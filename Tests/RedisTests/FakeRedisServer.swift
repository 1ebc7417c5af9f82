import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback listener that plays a misbehaving Redis: each accepted connection runs
/// `script` on a thread of its own with blocking socket calls, so a test can write half a
/// reply and close, dribble bytes with pauses, or never answer.
final class FakeRedisServer: Sendable {
    /// One accepted connection, for the script.
    struct Peer: Sendable {
        let descriptor: Int32
        /// Which connection this is, from 0.
        let index: Int

        /// Reads what the client sent (one `read(2)`); nil at EOF.
        @discardableResult
        func read() -> [UInt8]? {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            let count = Glibc.read(descriptor, &buffer, buffer.count)
            return count > 0 ? Array(buffer[..<count]) : nil
        }

        func write(_ text: String) {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }

        func close() { _ = Glibc.close(descriptor) }
    }

    let port: Int
    private let listener: Int32
    private let accepted = AcceptCount()

    init(_ script: @escaping @Sendable (Peer) -> Void) throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listener = listener
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard bound, listen(listener, 16) == 0 else { throw RedisTestError("the fake Redis cannot listen") }
        port = Int(UInt16(bigEndian: address.sin_port))
        let accepted = accepted
        Thread.detachNewThread {
            while true {
                let descriptor = accept(listener, nil, nil)
                guard descriptor >= 0 else { return }  // the listener was shut down
                let peer = Peer(descriptor: descriptor, index: accepted.value.add(1, ordering: .relaxed).oldValue)
                Thread.detachNewThread { script(peer) }
            }
        }
    }

    /// How many connections were accepted so far.
    var connectionCount: Int { accepted.value.load(ordering: .relaxed) }

    /// Stops accepting.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}

private final class AcceptCount: Sendable {
    let value = Atomic<Int>(0)
}

struct RedisTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
