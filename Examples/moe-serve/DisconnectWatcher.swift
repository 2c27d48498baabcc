import NIOCore

/// Notices a client going away while its request waits for the answer: Hummingbird keeps a
/// connection half-open after the client closes its side (to write the answer), so the
/// channel's `closeFuture` would wait for the whole generation; this handler completes `gone`
/// as soon as the input closes or the channel goes inactive.
final class DisconnectWatcher: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = NIOAny

  private var promise: EventLoopPromise<Void>?

  /// Completes when the client has gone (or the handler is removed with its channel).
  var gone: EventLoopFuture<Void>? { promise?.futureResult }

  func handlerAdded(context: ChannelHandlerContext) { promise = context.eventLoop.makePromise() }

  func handlerRemoved(context: ChannelHandlerContext) { promise?.succeed() }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.fireChannelRead(data) }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if let event = event as? ChannelEvent, event == .inputClosed { promise?.succeed() }
    context.fireUserInboundEventTriggered(event)
  }

  func channelInactive(context: ChannelHandlerContext) {
    promise?.succeed()
    context.fireChannelInactive()
  }
}
