import Linalg

/// Watches forward passes from inside: the inputs that products with compact weights meet —
/// what importance-weighted quantization is calibrated from (each input column's mean square
/// weights the quantization error of that column) — and the routing decisions of MoE layers,
/// for routing metrics.
///
/// The library reports to the observer installed for the current task
/// (`ForwardObservation.current`, see `observing(_:)`); with none installed the hooks cost
/// one task-local read. A MoE layer reports, in this order: its whole input with its experts
/// (so that an observer can learn what an expert would meet on tokens it was not given), its
/// routing decision, then each expert's products with only the rows routed to that expert.
/// Every method has an empty default, so an observer implements what it needs.
public protocol ForwardObserver: AnyObject, Sendable {
  /// The product with `weight` (`out × in`) is about to multiply `input` (`rows × in`).
  func observe(_ input: Matrix<Float>, meeting weight: WeightMatrix)

  /// A MoE layer received `layerInput` (`tokens × d`, every token of the pass) and will route
  /// each token to a few of `experts`.
  func observe(layerInput: Matrix<Float>, experts: [FeedForward<Float>])

  /// A MoE layer routed its `tokens` tokens as `decision` says (layers report in the order
  /// they run).
  func observe(routing decision: RoutingDecision<Float>, tokens: Int)
}

extension ForwardObserver {
  /// Does nothing.
  public func observe(_ input: Matrix<Float>, meeting weight: WeightMatrix) {}
  /// Does nothing.
  public func observe(layerInput: Matrix<Float>, experts: [FeedForward<Float>]) {}
  /// Does nothing.
  public func observe(routing decision: RoutingDecision<Float>, tokens: Int) {}

  /// `body` with this observer installed for the current task (and the tasks it starts).
  public func observing<T>(_ body: () throws -> T) rethrows -> T {
    try ForwardObservation.$current.withValue(self) { try body() }
  }
}

/// Where the library finds the current task's `ForwardObserver`.
public enum ForwardObservation {
  /// The observer forward passes report to, or `nil` (the default: nothing is reported).
  @TaskLocal public static var current: (any ForwardObserver)?
}
