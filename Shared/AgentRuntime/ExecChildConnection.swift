#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import PoolProtocol

/// The worker's side of one exec child's pipes, on NIO event loops (no blocking read ever
/// runs on the cooperative pool): lines to its stdin, framed lines from stdout and stderr.
struct ExecChildConnection: Sendable {
    /// The longest line the protocol allows (contract: 1 MiB).
    static let maximumLineLength = 1 << 20
    /// Stderr lines longer than this are dropped with a note (it is a log, not the protocol).
    static let maximumLogLineLength = 64 << 10

    let stdin: any Channel
    let stdout: any Channel
    let stderr: any Channel

    /// Takes over the three descriptors of `child`; on failure, closes them.
    static func open(
        _ child: ChildProcess, group: any EventLoopGroup,
        onStdout: @escaping @Sendable (FramedLine) -> Void, onStdoutEnd: @escaping @Sendable () -> Void,
        onStderr: @escaping @Sendable (FramedLine) -> Void, onStderrEnd: @escaping @Sendable () -> Void
    ) async throws -> ExecChildConnection {
        var opened: [any Channel] = []
        var pending: [Int32] = [child.stdin, child.stdout, child.stderr]
        do {
            let stdin = try await NIOPipeBootstrap(group: group)
                .takingOwnershipOfDescriptor(output: child.stdin).get()
            opened.append(stdin)
            pending.removeFirst()
            let stdout = try await reader(child.stdout, group: group, limit: maximumLineLength, onLine: onStdout, onEnd: onStdoutEnd)
            opened.append(stdout)
            pending.removeFirst()
            let stderr = try await reader(child.stderr, group: group, limit: maximumLogLineLength, onLine: onStderr, onEnd: onStderrEnd)
            return ExecChildConnection(stdin: stdin, stdout: stdout, stderr: stderr)
        } catch {
            for channel in opened { try? await channel.close() }
            for fd in pending { Glibc.close(fd) }
            throw error
        }
    }

    private static func reader(
        _ fd: Int32, group: any EventLoopGroup, limit: Int,
        onLine: @escaping @Sendable (FramedLine) -> Void, onEnd: @escaping @Sendable () -> Void
    ) async throws -> any Channel {
        try await NIOPipeBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFramer(maximumLength: limit)))
                    try channel.pipeline.syncOperations.addHandler(LineSink(onLine: onLine, onEnd: onEnd))
                }
            }
            .takingOwnershipOfDescriptor(input: fd).get()
    }

    /// Writes one message line to the child's stdin; a child that is gone is noticed by the
    /// reaper, so a failed write needs no handling here.
    func send(_ message: JSONObject) {
        let bytes = JSONLine.encode(message)
        var buffer = stdin.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        stdin.writeAndFlush(buffer, promise: nil)
    }

    /// Closes the child's stdin (after `stop`): it reads end of file.
    func closeInput() {
        stdin.close(promise: nil)
    }

    /// Closes all three pipes.
    func closeAll() {
        stdin.close(promise: nil)
        stdout.close(promise: nil)
        stderr.close(promise: nil)
    }
}
