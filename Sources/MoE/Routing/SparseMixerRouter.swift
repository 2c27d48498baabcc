import Linalg

/// Phi-3.5-MoE's SparseMixer routing, as it runs in inference: `k` rounds, each choosing the
/// best logit among the experts not yet chosen and weighting it by a softmax over only the
/// experts near it.
///
/// In round `r`, with `m` the best remaining logit `l_e` (the chosen expert `e`), an expert `j`
/// still in play takes part in the round's softmax when `(m − l_j) / max(|l_j|, m) ≤ 2ε`
/// (`ε` = `router_jitter_noise`); the weight is `exp(l_e) / Σ_{j taking part} exp(l_j)`. The
/// chosen experts leave play. Weights are not renormalised. `probabilities` in the decision is
/// the softmax over all experts (for losses and diagnostics); the backward pass follows each
/// round's softmax.
///
/// ### References
/// Liu et al. 2023, "Sparse Backpropagation for MoE Training", arXiv 2310.00811; Microsoft 2024,
/// "Phi-3 Technical Report", arXiv 2404.14219 (Phi-3.5-MoE); `transformers`' `sparsemixer`.
public struct SparseMixerRouter<Scalar: BLASScalar>: Router {
  /// `W_g`, `E × d`, no bias.
  public var gate: Linear<Scalar>
  /// `ε`, the relative distance from the best logit within which experts join a round's
  /// softmax.
  public var jitterEpsilon: Scalar
  /// Experts per token when a call does not say.
  public var defaultK: Int

  /// A router over `gate`'s experts.
  ///
  /// - Precondition: `1 ≤ k ≤ E`, `jitterEpsilon ≥ 0`.
  public init(gate: Linear<Scalar>, k: Int, jitterEpsilon: Scalar) {
    precondition(jitterEpsilon >= 0, "SparseMixerRouter: jitter epsilon \(jitterEpsilon) is negative")
    self.gate = gate
    self.jitterEpsilon = jitterEpsilon
    self.defaultK = k
    _checkK(k)
  }

  /// `E`.
  public var expertCount: Int { gate.outputDimensions }

  /// The experts taking part in each round of token `t`'s routing: `(chosen, members)`.
  func rounds(_ logits: Matrix<Scalar>, token t: Int, k: Int) -> [(chosen: Int, members: [Int])] {
    var inPlay = Array(0..<expertCount)
    var result: [(chosen: Int, members: [Int])] = []
    for _ in 0..<k {
      // The best remaining logit, the lower index on ties.
      let chosen = inPlay.max {
        logits[t, $0] < logits[t, $1] || (logits[t, $0] == logits[t, $1] && $0 > $1)
      }!
      let best = logits[t, chosen]
      // As PyTorch compares: a 0/0 distance is not "beyond", so that expert takes part.
      let members = inPlay.filter { j in
        !((best - logits[t, j]) / Swift.max(abs(logits[t, j]), best) > 2 * jitterEpsilon)
      }
      result.append((chosen, members))
      inPlay.removeAll { $0 == chosen }
    }
    return result
  }

  /// The routing of `x` (`T × d`): `k` rounds per token.
  public func route(_ x: Matrix<Scalar>, k: Int, context: inout RoutingContext) -> RoutingDecision<Scalar> {
    _checkK(k)
    let logits = gate(x)
    let skipped = _TokenChoice.nonFiniteTokens(logits)
    var assignments: [ExpertAssignment<Scalar>] = []
    for t in 0..<x.rows where !skipped.contains(t) {
      for (r, round) in rounds(logits, token: t, k: k).enumerated() {
        assignments.append(
          ExpertAssignment(
            token: t, expert: round.chosen, weight: Self.softmax(logits, t, round.members, at: round.chosen),
            choice: r))
      }
    }
    return RoutingDecision(
      tokenCount: x.rows, expertCount: expertCount, assignments: assignments, logits: logits,
      probabilities: logits.softmaxRows(), nonFiniteTokens: skipped)
  }

  /// `exp(l_e) / Σ_{j ∈ members} exp(l_j)` for token `t`.
  static func softmax(_ logits: Matrix<Scalar>, _ t: Int, _ members: [Int], at e: Int) -> Scalar {
    let top = members.map { logits[t, $0] }.max()!
    return Scalar.exp(logits[t, e] - top) / members.reduce(0) { $0 + Scalar.exp(logits[t, $1] - top) }
  }

  /// The backward pass through each round's softmax, `∂l_j += ∂w·w·(δ_je − p_j)` over the
  /// round's members, and the softmax of the probabilities.
  public mutating func backward(
    _ x: Matrix<Scalar>, decision: RoutingDecision<Scalar>, gradient: RoutingGradient<Scalar>
  ) -> Matrix<Scalar> {
    let logits = decision.logits
    var dl =
      gradient.probabilities.map { _RouterBackward.softmaxBackward($0, scores: decision.probabilities) }
      ?? Matrix(rows: x.rows, columns: expertCount)
    var next = 0
    for t in 0..<x.rows where !decision.nonFiniteTokens.contains(t) {
      let rounds = rounds(logits, token: t, k: decision.assignments(ofToken: t).count)
      for round in rounds {
        let (assignment, dw) = (decision.assignments[next], gradient.weights[next])
        next += 1
        let w = assignment.weight
        for j in round.members {
          let p = Self.softmax(logits, t, round.members, at: j)
          dl[t, j] += dw * w * ((j == round.chosen ? 1 : 0) - p)
        }
      }
    }
    return _RouterBackward.gateBackward(&gate, x, logitGradient: dl, decision, gradient)
  }

  /// Visits `gate.weight`.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    gate.visitParameters(prefix: Self._join(prefix, "gate"), body)
  }
}
