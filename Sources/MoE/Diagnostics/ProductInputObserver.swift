import Linalg

/// Watches the inputs that products with compact weights meet during forward passes — what
/// importance-weighted quantization is calibrated from (each input column's mean square
/// weights the quantization error of that column).
///
/// The library reports to the observer installed for the current task
/// (`ProductInputObservation.current`, see `observing(_:)`); with none installed the hooks
/// cost one task-local read. A MoE layer reports each expert's products with only the rows
/// routed to that expert, and, before routing, its whole input with its experts — so that an
/// observer can also learn what an expert would meet on tokens it was not given.
public protocol ProductInputObserver: AnyObject, Sendable {
  /// The product with `weight` (`out × in`) is about to multiply `input` (`rows × in`).
  func observe(_ input: Matrix<Float>, meeting weight: WeightMatrix)

  /// A MoE layer received `layerInput` (`tokens × d`, every token of the pass) and will route
  /// each token to a few of `experts`.
  func observe(layerInput: Matrix<Float>, experts: [FeedForward<Float>])
}

extension ProductInputObserver {
  /// `body` with this observer installed for the current task (and the tasks it starts).
  public func observing<T>(_ body: () throws -> T) rethrows -> T {
    try ProductInputObservation.$current.withValue(self) { try body() }
  }
}

/// Where the library finds the current task's `ProductInputObserver`.
public enum ProductInputObservation {
  /// The observer products report to, or `nil` (the default: nothing is reported).
  @TaskLocal public static var current: (any ProductInputObserver)?
}
