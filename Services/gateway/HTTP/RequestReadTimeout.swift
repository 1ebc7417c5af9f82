import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request body is not fully received within `limit` of its head.
///
/// Hummingbird's `idleTimeout` bounds the time without a complete request part, which covers
/// a request head sent slowly (the decoder passes nothing on until the head is complete) and
/// an idle keep-alive connection; it does not bound a body trickled in a few bytes at a time,
/// because every fragment counts as activity. This does, so that a slow client holds a
/// connection for at most `limit` while it sends, whatever it sends. The time the gateway
/// takes to answer (a spawn may wait `SPAWN_TIMEOUT`) is not counted: the timer stops when
/// the request has been read.
final class RequestReadTimeout: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limit: TimeAmount
    private var timer: Scheduled<Void>?

    init(limit: TimeAmount) {
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            timer?.cancel()
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: limit) {
                // Too slow: nothing sensible can be answered mid-request, so just close.
                loopBound.value.close(promise: nil)
            }
        case .body:
            break
        case .end:
            cancel()
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancel()
    }

    private func cancel() {
        timer?.cancel()
        timer = nil
    }
}
