import Linalg
import RealModule

/// Balanced assignment by Sinkhorn iterations (S-BASE): in training, the affinities
/// `K = exp(ℓ − max ℓ)` of the logits `ℓ = x·W_gᵀ` are scaled alternately so that every
/// expert's column sums to `T/E` and every token's row sums to 1, `iterations` times; each
/// token then takes the `k` experts with the largest balanced entry. At inference the
/// selection is plain top-k of `p = softmax(ℓ)`. Either way the combine weights are the
/// unbalanced `p_e` of the chosen experts, renormalised over them when `normalizeTopK` is
/// set, so the balancing changes only which experts are chosen.
///
/// The iterations approximate the balanced linear assignment that BASE layers solve
/// exactly (an entropy-regularised optimal transport with uniform expert marginals).
///
/// ### References
/// Lewis et al. 2021, "BASE Layers", arXiv 2103.16716; Clark et al. 2022, "Unified Scaling
/// Laws for Routed Language Models", arXiv 2202.01169 (S-BASE); Cuturi 2013, "Sinkhorn
/// Distances", arXiv 1306.0895.
public struct SinkhornRouter<Scalar: BLASScalar>: Router {
  /// `W_g`, `E × d`, no bias.
  public var gate: Linear<Scalar>
  /// Experts per token when a call does not say.
  public var defaultK: Int
  /// Column/row normalisation rounds in training.
  public var iterations: Int
  /// Whether the chosen experts' probabilities are rescaled to sum to 1.
  public var normalizeTopK: Bool

  /// A router over `gate.outputDimensions` experts.
  public init(gate: Linear<Scalar>, k: Int, iterations: Int = 8, normalizeTopK: Bool = true) {
    precondition(iterations >= 1, "SinkhornRouter: iterations \(iterations) must be at least 1")
    self.gate = gate
    self.defaultK = k
    self.iterations = iterations
    self.normalizeTopK = normalizeTopK
    _checkK(k)
  }

  /// A router with a randomly initialised gate (`d → E`, no bias).
  public init(dimensions: Int, expertCount: Int, k: Int, using generator: inout some RandomNumberGenerator) {
    self.init(
      gate: Linear.routerGate(dimensions: dimensions, expertCount: expertCount, using: &generator),
      k: k)
  }

  /// `E`.
  public var expertCount: Int { gate.outputDimensions }

  /// The Sinkhorn-balanced routing of `x` (`T × d`) in training, top-k softmax otherwise.
  public func route(_ x: Matrix<Scalar>, k: Int, context: inout RoutingContext) -> RoutingDecision<Scalar> {
    _checkK(k)
    let logits = gate(x)
    let probabilities = logits.softmaxRows()
    let selection =
      context.isTraining
      ? balanced(probabilities, skipping: _TokenChoice.nonFiniteTokens(logits)) : probabilities
    return _TokenChoice.decide(
      logits: logits, scores: probabilities, selection: selection, k: k, normalize: normalizeTopK)
  }

  /// The Sinkhorn scaling of the row-stochastic `probabilities` (softmax shares each
  /// row's `exp(ℓ − max ℓ)` up to a per-row factor, which the row step removes anyway).
  /// Rows of skipped tokens are left out of the column sums.
  func balanced(_ probabilities: Matrix<Scalar>, skipping skipped: [Int]) -> Matrix<Scalar> {
    var k = probabilities
    for t in skipped { k[row: t] = [Scalar](repeating: 0, count: k.columns) }
    let target = Scalar(k.rows - skipped.count) / Scalar(k.columns)
    for _ in 0..<iterations {
      let columnSums = k.columnSums().map { $0 > 0 ? target / $0 : 0 }
      k.multiplyElementwise(by: Matrix(row: columnSums))
      k.scaleRows(by: k.rowSums().map { $0 > 0 ? 1 / $0 : 0 })
    }
    return k
  }

  /// The backward pass through the combine weights, which are the unbalanced
  /// `p = softmax(x·W_gᵀ)` of the chosen experts (renormalised when `normalizeTopK`).
  public mutating func backward(
    _ x: Matrix<Scalar>, decision: RoutingDecision<Scalar>, gradient: RoutingGradient<Scalar>
  ) -> Matrix<Scalar> {
    let ds = _RouterBackward.totalScoreGradient(decision, gradient, normalize: normalizeTopK)
    let dl = _RouterBackward.softmaxBackward(ds, scores: decision.probabilities)
    return _RouterBackward.gateBackward(&gate, x, logitGradient: dl, decision, gradient)
  }

  /// Visits `gate.weight`.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    gate.visitParameters(prefix: Self._join(prefix, "gate"), body)
  }
}
