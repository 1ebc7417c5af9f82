#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes to file descriptor 2 directly, so that the services need no `FileHandle`
/// (and with it no full Foundation). One call per line keeps lines whole.
enum StandardError {
    static func write(_ bytes: some Collection<UInt8>) {
        var remaining = Array(bytes)[...]
        while !remaining.isEmpty {
            let written = remaining.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }  // stderr closed: nothing sensible left to do
            remaining = remaining.dropFirst(written)
        }
    }
}
