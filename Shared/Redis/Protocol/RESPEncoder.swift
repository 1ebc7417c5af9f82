import CHiredis
import NIOCore

/// Formats commands as RESP2 arrays of bulk strings with hiredis's own formatter
/// (`redisFormatCommandArgv`), so the bytes on the wire are exactly what hiredis would send.
enum RESPEncoder {
    /// Appends one command to `buffer`. Arguments are passed with explicit lengths, so they
    /// may contain NUL bytes.
    static func encode(_ arguments: [[UInt8]], into buffer: inout ByteBuffer) {
        var storage: [UInt8] = []
        storage.reserveCapacity(arguments.reduce(1) { $0 + $1.count })
        var offsets: [Int] = []
        offsets.reserveCapacity(arguments.count)
        for argument in arguments {
            offsets.append(storage.count)
            storage += argument
        }
        storage.append(0)  // never empty, so the base address exists
        let lengths = arguments.map(\.count)
        storage.withUnsafeBytes { bytes in
            let base = bytes.baseAddress!.assumingMemoryBound(to: CChar.self)
            var argv: [UnsafePointer<CChar>?] = offsets.map { UnsafePointer(base + $0) }
            var formatted: UnsafeMutablePointer<CChar>?
            let length = argv.withUnsafeMutableBufferPointer { argvBuffer in
                lengths.withUnsafeBufferPointer { lengthBuffer in
                    redisFormatCommandArgv(
                        &formatted, Int32(arguments.count), argvBuffer.baseAddress!, lengthBuffer.baseAddress!)
                }
            }
            guard length >= 0, let formatted else {
                fatalError("hiredis could not format a command (out of memory)")
            }
            defer { redisFreeCommand(formatted) }
            buffer.writeBytes(UnsafeRawBufferPointer(start: formatted, count: Int(length)))
        }
    }

    /// One command as a fresh buffer.
    static func encode(_ arguments: [[UInt8]]) -> ByteBuffer {
        var buffer = ByteBuffer()
        encode(arguments, into: &buffer)
        return buffer
    }
}
