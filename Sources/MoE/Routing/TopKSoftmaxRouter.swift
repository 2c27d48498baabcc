import Linalg

/// Top-k softmax routing: `p = softmax(x·W_gᵀ)` over all `E` experts, each token takes its
/// `k` most probable experts, with combine weights `p_e` — renormalised over the chosen `k`
/// (`p_e / Σ_chosen p`) when `normalizeTopK` is set.
///
/// `k = 1` is Switch routing. Mixtral renormalises (its softmax over the top-k logits is
/// the same thing); Qwen2-MoE exposes the choice as `norm_topk_prob`; DeepSeek-MoE 16B
/// does not renormalise.
///
/// ### References
/// Shazeer et al. 2017 (arXiv 1701.06538); Fedus, Zoph & Shazeer 2021, Switch
/// Transformers (arXiv 2101.03961); Jiang et al. 2024, Mixtral of Experts (arXiv 2401.04088).
public struct TopKSoftmaxRouter<Scalar: BLASScalar>: Router {
  /// `W_g`, `E × d`, no bias.
  public var gate: Linear<Scalar>
  /// Experts per token when a call does not say.
  public var defaultK: Int
  /// Whether the chosen experts' probabilities are rescaled to sum to 1.
  public var normalizeTopK: Bool

  /// A router over `gate.outputDimensions` experts.
  public init(gate: Linear<Scalar>, k: Int, normalizeTopK: Bool = true) {
    self.gate = gate
    self.defaultK = k
    self.normalizeTopK = normalizeTopK
    _checkK(k)
  }

  /// A router with a randomly initialised gate (`d → E`, no bias).
  public init(
    dimensions: Int, expertCount: Int, k: Int, normalizeTopK: Bool = true,
    using generator: inout some RandomNumberGenerator
  ) {
    self.init(
      gate: Linear.routerGate(dimensions: dimensions, expertCount: expertCount, using: &generator),
      k: k, normalizeTopK: normalizeTopK)
  }

  /// `E`.
  public var expertCount: Int { gate.outputDimensions }

  /// The top-k softmax routing of `x` (`T × d`).
  public func route(_ x: Matrix<Scalar>, k: Int, context: inout RoutingContext) -> RoutingDecision<Scalar> {
    _checkK(k)
    let logits = gate(x)
    let probabilities = logits.softmaxRows()
    return _TokenChoice.decide(
      logits: logits, scores: probabilities, selection: probabilities, k: k, normalize: normalizeTopK)
  }

  /// The backward pass through `w = p_e` (renormalised when `normalizeTopK`) and
  /// `p = softmax(x·W_gᵀ)`.
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
