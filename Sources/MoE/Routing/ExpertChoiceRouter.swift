import Linalg

/// Expert-choice routing: `S = softmax(x·W_gᵀ)` over experts (`T × E`), then every expert
/// takes the `C = ⌈T·capacityFactor / E⌉` tokens (at most `T`) with the highest affinity
/// `S[t, e]`, weighted by `S[t, e]`.
///
/// Every expert is exactly full, so the load is balanced by construction and no
/// balancing loss is needed; a token may get anything from 0 to `E` experts
/// (`RoutingDecision.tokensWithoutExperts` counts those with none). Ties go to the lower
/// token index. The call's `k` is not used: the capacity factor sets the average number
/// of experts per token, `C·E/T ≈ capacityFactor`.
///
/// ### References
/// Zhou et al. 2022, "Mixture-of-Experts with Expert Choice Routing", arXiv 2202.09368.
public struct ExpertChoiceRouter<Scalar: BLASScalar>: Router {
  /// `W_g`, `E × d`, no bias.
  public var gate: Linear<Scalar>
  /// Average experts per token (the paper's `c`; 2 in most of its experiments).
  public var capacityFactor: Double

  /// A router over `gate.outputDimensions` experts.
  public init(gate: Linear<Scalar>, capacityFactor: Double = 2) {
    precondition(capacityFactor > 0, "ExpertChoiceRouter: capacity factor \(capacityFactor) must be positive")
    self.gate = gate
    self.capacityFactor = capacityFactor
  }

  /// A router with a randomly initialised gate (`d → E`, no bias).
  public init(
    dimensions: Int, expertCount: Int, capacityFactor: Double = 2,
    using generator: inout some RandomNumberGenerator
  ) {
    self.init(
      gate: Linear.routerGate(dimensions: dimensions, expertCount: expertCount, using: &generator),
      capacityFactor: capacityFactor)
  }

  /// `E`.
  public var expertCount: Int { gate.outputDimensions }
  /// The capacity factor rounded up: the average number of experts per token.
  public var defaultK: Int { Int(capacityFactor.rounded(.up)) }

  /// Tokens per expert for a batch of `tokens`: `min(T, ⌈T·capacityFactor / E⌉)`.
  public func capacity(tokens: Int) -> Int {
    Swift.min(tokens, Int((Double(tokens) * capacityFactor / Double(expertCount)).rounded(.up)))
  }

  /// The expert-choice routing of `x` (`T × d`); `k` is ignored (see the type's summary).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func route(_ x: Matrix<Scalar>, k: Int, context: inout RoutingContext) -> RoutingDecision<Scalar> {
    let logits = gate(x)
    let probabilities = logits.softmaxRows()
    let skipped = _TokenChoice.nonFiniteTokens(logits)
    // Experts rank tokens: one row per expert. Tokens with non-finite logits rank last and
    // are left out even if an expert has room for them.
    var affinity = probabilities.transposed
    for t in skipped {
      for e in 0..<expertCount { affinity[e, t] = -.infinity }
    }
    let capacity = capacity(tokens: x.rows)
    let top = affinity.topKRows(capacity)
    let isSkipped = Set(skipped)
    var assignments: [ExpertAssignment<Scalar>] = []
    assignments.reserveCapacity(expertCount * capacity)
    for e in 0..<expertCount {
      for rank in 0..<capacity {
        let t = top.index(row: e, rank: rank)
        if isSkipped.contains(t) { continue }
        assignments.append(ExpertAssignment(token: t, expert: e, weight: probabilities[t, e], choice: rank))
      }
    }
    return RoutingDecision(
      tokenCount: x.rows, expertCount: expertCount, assignments: assignments, logits: logits,
      probabilities: probabilities, nonFiniteTokens: skipped)
  }

  /// The backward pass through `w = S[t, e]` and `S = softmax(x·W_gᵀ)` over experts.
  public mutating func backward(
    _ x: Matrix<Scalar>, decision: RoutingDecision<Scalar>, gradient: RoutingGradient<Scalar>
  ) -> Matrix<Scalar> {
    let ds = _RouterBackward.totalScoreGradient(decision, gradient, normalize: false)
    let dl = _RouterBackward.softmaxBackward(ds, scores: decision.probabilities)
    return _RouterBackward.gateBackward(&gate, x, logitGradient: dl, decision, gradient)
  }

  /// Visits `gate.weight`.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    gate.visitParameters(prefix: Self._join(prefix, "gate"), body)
  }
}
