import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to a loopback port, for requests an HTTP library would not send as
/// written (raw paths such as `//metrics`, half a request head, made-up methods). Blocking
/// calls run on a thread of their own (`Task.detached` would still block a cooperative
/// thread, so calls go through `DispatchQueue`).
final class RawConnection: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SetupError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw SetupError("cannot connect to 127.0.0.1:\(port): errno \(errno)")
        }
    }

    deinit { close(fd) }

    /// Writes all of `text`.
    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw SetupError("send failed: errno \(errno)") }
            sent += written
        }
    }

    /// Reads until the peer closes the connection or `timeout` passes; returns what came and
    /// whether the peer closed.
    func readUntilClosed(timeout: Duration) async -> (data: Data, closed: Bool) {
        let fd = fd
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var data = Data()
                let deadline = ContinuousClock.now + timeout
                var buffer = [UInt8](repeating: 0, count: 65536)
                while ContinuousClock.now < deadline {
                    var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    let left = deadline - ContinuousClock.now
                    let milliseconds = Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
                    guard poll(&poller, 1, milliseconds) > 0 else { continue }
                    let count = recv(fd, &buffer, buffer.count, 0)
                    if count <= 0 {
                        continuation.resume(returning: (data, true))
                        return
                    }
                    data.append(contentsOf: buffer[0..<count])
                }
                continuation.resume(returning: (data, false))
            }
        }
    }

    /// Sends one request with `Connection: close` and returns the status code of the answer.
    static func status(port: Int, method: String = "GET", path: String, timeout: Duration = .seconds(30)) async throws -> Int {
        let connection = try RawConnection(port: port)
        try connection.send("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let (data, _) = await connection.readUntilClosed(timeout: timeout)
        let head = String(decoding: data.prefix(64), as: UTF8.self)
        let parts = head.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw SetupError("no HTTP answer to \(method) \(path): \(head.debugDescription)")
        }
        return status
    }
}
