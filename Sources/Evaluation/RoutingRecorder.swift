import Foundation
import Linalg
import MoE

/// The experts each token chose at every MoE layer of a forward pass, recorded through a
/// `ForwardObserver`: `experts[l][t]` is the sorted list of experts token `t` was routed to
/// at the pass's `l`-th MoE layer (layers counted in the order they ran).
public final class RoutingRecorder: ForwardObserver, @unchecked Sendable {
  private var experts: [[[Int]]] = []
  private let lock = NSLock()

  private init() {}

  /// `body`'s result and the routing of the MoE layers it ran (one pass over the model: its
  /// MoE layers in order).
  public static func recording<T>(_ body: () throws -> T) rethrows -> (result: T, experts: [[[Int]]]) {
    let recorder = RoutingRecorder()
    let result = try recorder.observing(body)
    return (result, recorder.lock.withLock { recorder.experts })
  }

  /// Records one MoE layer's choices.
  public func observe(routing decision: RoutingDecision<Float>, tokens: Int) {
    var chosen = [[Int]](repeating: [], count: tokens)
    for a in decision.assignments where a.token < tokens { chosen[a.token].append(a.expert) }
    lock.withLock { experts.append(chosen.map { $0.sorted() }) }
  }
}
