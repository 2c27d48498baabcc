import Linalg

/// Per-call circumstances of routing: training or inference, the random source for
/// routers that draw (noisy top-k, synthetic), and token ids for hash routing.
public struct RoutingContext: Sendable {
  /// Training mode: noisy top-k adds noise and Sinkhorn routing balances only here.
  public var isTraining: Bool
  /// The seeded source of every random draw a router makes.
  public var generator: Xoshiro256StarStar
  /// The vocabulary id of every token, for routers that route by id (`HashRouter`).
  public var tokenIDs: [Int]?

  /// Inference mode with a generator seeded by `seed`.
  public init(isTraining: Bool = false, seed: UInt64 = 0, tokenIDs: [Int]? = nil) {
    self.isTraining = isTraining
    self.generator = Xoshiro256StarStar(seed: seed)
    self.tokenIDs = tokenIDs
  }
}

/// Decides, for a batch of tokens, which experts each token goes to and with what
/// combine weights.
///
/// Routers are values: everything a call needs beyond the tokens comes in through
/// `RoutingContext`, so the same router and context give the same decision.
public protocol Router<Scalar>: Sendable, ParameterContainer {

  /// `E`, the number of routed experts.
  var expertCount: Int { get }

  /// The number of experts per token used when a call does not say (`k`); for expert
  /// choice, the average number per token its capacity gives.
  var defaultK: Int { get }

  /// The routing of `x` (`T × d`) with `k` experts per token where the scheme has a `k`.
  ///
  /// - Precondition: `1 ≤ k ≤ expertCount` for schemes that use `k`.
  func route(_ x: Matrix<Scalar>, k: Int, context: inout RoutingContext) -> RoutingDecision<Scalar>

  /// The backward pass of `route(x, …)` that produced `decision`: accumulates the
  /// router's parameter gradients and returns `∂L/∂x` (`T × d`). Which experts were chosen
  /// is not differentiated; the gradient flows through the combine weights and the
  /// direct probability and logit gradients. Routers without parameters return zeros.
  mutating func backward(
    _ x: Matrix<Scalar>, decision: RoutingDecision<Scalar>, gradient: RoutingGradient<Scalar>
  ) -> Matrix<Scalar>
}

extension Router {
  /// The routing of `x` in inference mode with `defaultK` experts per token.
  public func route(_ x: Matrix<Scalar>) -> RoutingDecision<Scalar> {
    var context = RoutingContext()
    return route(x, k: defaultK, context: &context)
  }

  /// Traps unless `1 ≤ k ≤ expertCount`.
  func _checkK(_ k: Int) {
    precondition(k >= 1 && k <= expertCount, "\(Self.self): k = \(k) is outside 1...\(expertCount)")
  }
}
