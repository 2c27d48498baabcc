import Linalg

/// The DeepSeek routers: scores from the logits, an optional selection bias, and
/// group-limited selection.
///
/// 1. `s = σ(x·W_gᵀ)` (DeepSeek-V3, `scoring: .sigmoid`) or `s = softmax(x·W_gᵀ)`
///    (DeepSeek-V2, `scoring: .softmax`).
/// 2. Selection scores `s + b`, where `b` (`selectionBias`, `1 × E`) is the
///    auxiliary-loss-free balancing bias: it steers which experts are chosen and nothing
///    else.
/// 3. With `groupCount > 1` the `E` experts form `groupCount` equal groups; each group is
///    scored by the sum of its two best selection scores (V3, `groupScore: .sumOfTopTwo`)
///    or by its best one (V2's greedy variant, `groupScore: .best`); only the
///    `topKGroup` best groups stay eligible.
/// 4. Each token takes its `k` best eligible experts by selection score; its combine
///    weights are the *unbiased* scores `s_e`, divided by their sum (+1e-20) when
///    `normalizeTopK` is set, then multiplied by `routedScalingFactor`.
///
/// Ties go to the lower expert (or group) index. Experts outside the kept groups get the
/// selection score `ineligibleScore`: `-inf` (the default) excludes them; Hugging Face's
/// `transformers` fills them with 0, which differs only when eligible selection scores
/// are negative — `ModelIO` sets 0 to compute exactly what `transformers` does.
///
/// ### References
/// DeepSeek-AI 2024, "DeepSeek-V3 Technical Report", arXiv 2412.19437, §2.1.2;
/// "DeepSeek-V2", arXiv 2405.04434, §2.2.2 (device-limited routing); Wang et al. 2024,
/// "Auxiliary-Loss-Free Load Balancing Strategy for Mixture-of-Experts", arXiv 2408.15664.
public struct GroupLimitedRouter<Scalar: BLASScalar>: Router {
  /// How logits become scores.
  public enum Scoring: Sendable {
    /// `softmax` over the experts (DeepSeek-V2).
    case softmax
    /// Element-wise `sigmoid` (DeepSeek-V3).
    case sigmoid
  }

  /// How a group of experts is scored for group-limited selection.
  public enum GroupScore: Sendable {
    /// The group's best selection score (DeepSeek-V2 `group_limited_greedy`).
    case best
    /// The sum of the group's two best selection scores (DeepSeek-V3).
    case sumOfTopTwo
  }

  /// `W_g`, `E × d`, no bias.
  public var gate: Linear<Scalar>
  /// How logits become scores.
  public var scoring: Scoring
  /// `b`, `1 × E`: added to the scores for choosing experts only.
  public var selectionBias: Matrix<Scalar>
  /// Number of expert groups (`n_group`); 1 disables group-limited selection.
  public var groupCount: Int
  /// Groups kept per token (`topk_group`).
  public var topKGroup: Int
  /// How groups are scored.
  public var groupScore: GroupScore
  /// Whether the chosen experts' scores are rescaled to sum to 1 (`norm_topk_prob`).
  public var normalizeTopK: Bool
  /// The factor on every combine weight (`routed_scaling_factor`).
  public var routedScalingFactor: Scalar
  /// Experts per token when a call does not say.
  public var defaultK: Int
  /// The selection score given to experts outside the kept groups.
  public var ineligibleScore: Scalar = -.infinity

  /// A router; the defaults are plain (ungrouped, unbiased, unscaled) sigmoid top-k.
  public init(
    gate: Linear<Scalar>, k: Int, scoring: Scoring = .sigmoid, selectionBias: Matrix<Scalar>? = nil,
    groupCount: Int = 1, topKGroup: Int = 1, groupScore: GroupScore = .sumOfTopTwo,
    normalizeTopK: Bool = true, routedScalingFactor: Scalar = 1
  ) {
    let experts = gate.outputDimensions
    precondition(
      groupCount >= 1 && experts % groupCount == 0,
      "GroupLimitedRouter: \(experts) experts do not split into \(groupCount) equal groups")
    precondition(
      topKGroup >= 1 && topKGroup <= groupCount,
      "GroupLimitedRouter: topKGroup \(topKGroup) is outside 1...\(groupCount)")
    precondition(
      groupCount == 1 || groupScore == .best || experts / groupCount >= 2,
      "GroupLimitedRouter: summing the top two needs at least 2 experts per group")
    let bias = selectionBias ?? Matrix(rows: 1, columns: experts)
    precondition(
      bias.shape == (1, experts),
      "GroupLimitedRouter: selection bias \(bias.rows)×\(bias.columns) must be 1×\(experts)")
    self.gate = gate
    self.scoring = scoring
    self.selectionBias = bias
    self.groupCount = groupCount
    self.topKGroup = topKGroup
    self.groupScore = groupScore
    self.normalizeTopK = normalizeTopK
    self.routedScalingFactor = routedScalingFactor
    self.defaultK = k
    _checkK(k)
  }

  /// `E`.
  public var expertCount: Int { gate.outputDimensions }

  /// The group-limited routing of `x` (`T × d`).
  ///
  /// - Precondition: `k` is at most the number of experts in `topKGroup` groups.
  public func route(_ x: Matrix<Scalar>, k: Int, context: inout RoutingContext) -> RoutingDecision<Scalar> {
    _checkK(k)
    let eligibleExperts = expertCount / groupCount * topKGroup
    precondition(
      k <= eligibleExperts,
      "GroupLimitedRouter: k = \(k) exceeds the \(eligibleExperts) experts of \(topKGroup) groups")
    let logits = gate(x)
    let scores = scoring == .softmax ? logits.softmaxRows() : logits.applying(.sigmoid)
    var selection = scores + selectionBias
    if groupCount > 1 { maskIneligibleGroups(&selection) }
    return _TokenChoice.decide(
      logits: logits, scores: scores, selection: selection, k: k, normalize: normalizeTopK,
      scale: routedScalingFactor)
  }

  /// Sets the selection scores of every expert outside each token's `topKGroup` best
  /// groups to `ineligibleScore`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func maskIneligibleGroups(_ selection: inout Matrix<Scalar>) {
    let size = expertCount / groupCount
    // One row per (token, group): the group's selection scores.
    let perGroup = selection.reshaped(rows: selection.rows * groupCount, columns: size)
    let groupScores: [Scalar]
    switch groupScore {
    case .best:
      groupScores = perGroup.rowMax()
    case .sumOfTopTwo:
      let top = perGroup.topKRows(2).values
      groupScores = top.rowSums()
    }
    let keep = Matrix(rows: selection.rows, columns: groupCount, elements: groupScores).topKRows(topKGroup)
    var eligible = [Bool](repeating: false, count: groupCount)
    for t in 0..<selection.rows {
      for g in 0..<groupCount { eligible[g] = false }
      for r in 0..<topKGroup { eligible[keep.index(row: t, rank: r)] = true }
      for g in 0..<groupCount where !eligible[g] {
        for e in g * size..<(g + 1) * size { selection[t, e] = ineligibleScore }
      }
    }
  }

  /// The backward pass through `w = scale · s_e` (renormalised when `normalizeTopK`) and
  /// `s = σ(x·W_gᵀ)` or `softmax(x·W_gᵀ)`. The selection bias gets no gradient: it is
  /// moved by `AuxiliaryLossFreeBalancer`.
  public mutating func backward(
    _ x: Matrix<Scalar>, decision: RoutingDecision<Scalar>, gradient: RoutingGradient<Scalar>
  ) -> Matrix<Scalar> {
    let ds = _RouterBackward.totalScoreGradient(
      decision, gradient, normalize: normalizeTopK, scale: routedScalingFactor)
    let dl =
      scoring == .softmax
      ? _RouterBackward.softmaxBackward(ds, scores: decision.probabilities)
      : _RouterBackward.sigmoidBackward(ds, scores: decision.probabilities)
    return _RouterBackward.gateBackward(&gate, x, logitGradient: dl, decision, gradient)
  }

  /// Visits `gate.weight` (the selection bias is a buffer, not a parameter).
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    gate.visitParameters(prefix: Self._join(prefix, "gate"), body)
  }
}
