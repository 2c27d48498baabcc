import Hummingbird
import NIOCore

/// The request context of `moe-serve`: Hummingbird's, plus the connection's channel, whose
/// `DisconnectWatcher` tells a waiting request that its client has gone (so its slot is freed
/// at once).
struct ServerContext: RequestContext {
  /// Hummingbird's per-request storage.
  var coreContext: CoreRequestContextStorage
  /// The connection.
  let channel: any Channel

  init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    channel = source.channel
  }
}
