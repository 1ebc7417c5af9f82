import NIOCore

/// What a child's output stream holds, cut at newlines.
enum FramedLine {
    /// One line, without its newline (and without a `\r` before it).
    case line(ByteBuffer)
    /// A line longer than the limit, dropped; `length` counts its bytes.
    case tooLong(length: Int)
}

/// Cuts a byte stream into lines of at most `maximumLength` bytes without ever holding more
/// than about that much: a longer line is skipped as it streams in (its bytes are consumed and
/// forgotten until the next newline), so a child that floods its output costs CPU, never
/// memory.
struct LineFramer: ByteToMessageDecoder {
    typealias InboundOut = FramedLine

    let maximumLength: Int
    /// Inside a line that is already too long: drop until the next newline.
    private var discarding = false
    private var discardedLength = 0

    init(maximumLength: Int) {
        self.maximumLength = maximumLength
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - buffer.readerIndex
            if discarding || length > maximumLength {
                buffer.moveReaderIndex(forwardBy: length + 1)
                let total = discardedLength + length
                (discarding, discardedLength) = (false, 0)
                context.fireChannelRead(wrapInboundOut(.tooLong(length: total)))
                return .continue
            }
            var line = buffer.readSlice(length: length) ?? ByteBuffer()
            buffer.moveReaderIndex(forwardBy: 1)
            if line.readableBytesView.last == UInt8(ascii: "\r") {
                line.moveWriterIndex(to: line.writerIndex - 1)
            }
            context.fireChannelRead(wrapInboundOut(.line(line)))
            return .continue
        }
        if discarding || buffer.readableBytes > maximumLength {
            discarding = true
            discardedLength += buffer.readableBytes
            buffer.moveReaderIndex(to: buffer.writerIndex)
        }
        return .needMoreData
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        // A last line without its newline still counts, unless it was too long.
        if discarding {
            context.fireChannelRead(wrapInboundOut(.tooLong(length: discardedLength + buffer.readableBytes)))
            (discarding, discardedLength) = (false, 0)
        } else if buffer.readableBytes > 0, let line = buffer.readSlice(length: buffer.readableBytes) {
            context.fireChannelRead(wrapInboundOut(.line(line)))
        }
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}

/// Hands each framed line to a closure, on the channel's event loop, and says when the
/// stream ends.
final class LineSink: ChannelInboundHandler, Sendable {
    typealias InboundIn = FramedLine

    private let onLine: @Sendable (FramedLine) -> Void
    private let onEnd: @Sendable () -> Void

    init(onLine: @escaping @Sendable (FramedLine) -> Void, onEnd: @escaping @Sendable () -> Void) {
        self.onLine = onLine
        self.onEnd = onEnd
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        onLine(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        onEnd()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A read error on a pipe ends the stream; the exit (or its absence) is handled by
        // the runtime.
        context.close(promise: nil)
    }
}
