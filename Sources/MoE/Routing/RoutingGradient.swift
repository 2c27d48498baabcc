import Linalg

/// What flows back into a router: the gradient of the loss with respect to every combine
/// weight it produced, and optional direct gradients on its probabilities and logits from
/// balancing losses.
public struct RoutingGradient<Scalar: BLASScalar>: Sendable {
  /// `∂L/∂w_a` for each of `RoutingDecision.assignments`, in the same order (0 for a
  /// dropped assignment, which contributed nothing).
  public var weights: [Scalar]
  /// `∂L/∂probabilities` (`T × E`), e.g. from `LoadBalancingLoss`, or `nil`.
  public var probabilities: Matrix<Scalar>?
  /// `∂L/∂logits` (`T × E`), e.g. from `RouterZLoss`, or `nil`.
  public var logits: Matrix<Scalar>?

  /// A gradient from its parts.
  public init(weights: [Scalar], probabilities: Matrix<Scalar>? = nil, logits: Matrix<Scalar>? = nil) {
    self.weights = weights
    self.probabilities = probabilities
    self.logits = logits
  }
}

/// The gradients balancing losses put directly on a router's outputs: its probabilities
/// (`LoadBalancingLoss`, `SequenceBalanceLoss`) and its logits (`RouterZLoss`), each
/// `T × E`. Sums of several losses simply add.
public struct RouterLossGradient<Scalar: BLASScalar>: Sendable {
  /// `∂L/∂probabilities`, or `nil`.
  public var probabilities: Matrix<Scalar>?
  /// `∂L/∂logits`, or `nil`.
  public var logits: Matrix<Scalar>?

  /// A gradient from its parts.
  public init(probabilities: Matrix<Scalar>? = nil, logits: Matrix<Scalar>? = nil) {
    self.probabilities = probabilities
    self.logits = logits
  }

  /// Adds `gradient` to the probability gradient.
  public mutating func addProbabilities(_ gradient: Matrix<Scalar>) {
    probabilities = probabilities.map { $0 + gradient } ?? gradient
  }

  /// Adds `gradient` to the logit gradient.
  public mutating func addLogits(_ gradient: Matrix<Scalar>) {
    logits = logits.map { $0 + gradient } ?? gradient
  }
}

/// The backward steps the learned routers share. Selection (which experts) is not
/// differentiated; gradients reach the gate through the combine weights.
enum _RouterBackward {
  /// `∂L/∂s` (`T × E`) from the weight gradients, where each assignment's weight is
  /// `scale · s[t, e]`, divided by `Z_t = Σ_{t's assignments} s + 1e-20` when `normalize`:
  /// `∂s[t, e_a] = scale · (∂w_a / Z_t − Σ_b ∂w_b · s[t, e_b] / Z_t²)`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  static func scoreGradient<Scalar: BLASScalar>(
    _ decision: RoutingDecision<Scalar>, _ weightGradients: [Scalar], normalize: Bool, scale: Scalar = 1
  ) -> Matrix<Scalar> {
    precondition(
      weightGradients.count == decision.assignments.count,
      "router backward: \(weightGradients.count) weight gradients for \(decision.assignments.count) assignments"
    )
    let s = decision.probabilities
    var ds = Matrix<Scalar>(rows: decision.tokenCount, columns: decision.expertCount)
    guard normalize else {
      for (a, dw) in zip(decision.assignments, weightGradients) { ds[a.token, a.expert] += scale * dw }
      return ds
    }
    var total = [Scalar](repeating: Scalar(1e-20), count: decision.tokenCount)
    var weighted = [Scalar](repeating: 0, count: decision.tokenCount)
    for (a, dw) in zip(decision.assignments, weightGradients) {
      total[a.token] += s[a.token, a.expert]
      weighted[a.token] += dw * s[a.token, a.expert]
    }
    for (a, dw) in zip(decision.assignments, weightGradients) {
      let z = total[a.token]
      ds[a.token, a.expert] += scale * (dw / z - weighted[a.token] / (z * z))
    }
    return ds
  }

  /// `∂L/∂logits` from `∂L/∂s` for `s = softmax(logits)`:
  /// `∂l = s ⊙ (∂s − Σⱼ ∂s_j s_j)` per row.
  static func softmaxBackward<Scalar: BLASScalar>(_ ds: Matrix<Scalar>, scores s: Matrix<Scalar>) -> Matrix<
    Scalar
  > {
    let inner = ds.elementwiseProduct(s).rowSums()
    var shifted = ds
    shifted.subtract(Matrix(rows: ds.rows, columns: ds.columns) { i, _ in inner[i] })
    return shifted.elementwiseProduct(s)
  }

  /// `∂L/∂logits` from `∂L/∂s` for `s = σ(logits)`: `∂l = ∂s ⊙ s ⊙ (1 − s)`.
  static func sigmoidBackward<Scalar: BLASScalar>(_ ds: Matrix<Scalar>, scores s: Matrix<Scalar>) -> Matrix<
    Scalar
  > {
    var slope = s
    slope.multiplyElementwise(by: Matrix(rows: s.rows, columns: s.columns, repeating: 1) - s)
    return ds.elementwiseProduct(slope)
  }

  /// Adds the direct logit gradient, zeroes the rows of tokens whose logits were not
  /// finite (they were not routed), and runs the gate's backward pass.
  static func gateBackward<Scalar: BLASScalar>(
    _ gate: inout Linear<Scalar>, _ x: Matrix<Scalar>, logitGradient: Matrix<Scalar>,
    _ decision: RoutingDecision<Scalar>, _ gradient: RoutingGradient<Scalar>
  ) -> Matrix<Scalar> {
    var dl = logitGradient
    if let direct = gradient.logits { dl.add(direct) }
    for t in decision.nonFiniteTokens { dl[row: t] = [Scalar](repeating: 0, count: dl.columns) }
    return gate.backward(dl, input: x)
  }

  /// `∂s` from the weights plus the direct probability gradient.
  static func totalScoreGradient<Scalar: BLASScalar>(
    _ decision: RoutingDecision<Scalar>, _ gradient: RoutingGradient<Scalar>, normalize: Bool,
    scale: Scalar = 1
  ) -> Matrix<Scalar> {
    var ds = scoreGradient(decision, gradient.weights, normalize: normalize, scale: scale)
    if let direct = gradient.probabilities { ds.add(direct) }
    return ds
  }
}
