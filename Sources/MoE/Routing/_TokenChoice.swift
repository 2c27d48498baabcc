import Linalg

/// The selection step shared by the token-choice routers: each token takes the `k`
/// experts with the highest `selection` scores, and its combine weights come from
/// `scores` at those experts (optionally renormalised to sum to 1, then scaled).
enum _TokenChoice {
  /// The tokens whose logits hold NaN or an infinity, in order.
  static func nonFiniteTokens<Scalar: BLASScalar>(_ logits: Matrix<Scalar>) -> [Int] {
    (0..<logits.rows).filter { i in logits[row: i].contains { !$0.isFinite } }
  }

  /// Assignments for every finite token: top-`k` of `selection`, weights from `scores`.
  static func decide<Scalar: BLASScalar>(
    logits: Matrix<Scalar>, scores: Matrix<Scalar>, selection: Matrix<Scalar>, k: Int,
    normalize: Bool, scale: Scalar = 1
  ) -> RoutingDecision<Scalar> {
    let skipped = nonFiniteTokens(logits)
    var isSkipped = [Bool](repeating: false, count: logits.rows)
    for t in skipped { isSkipped[t] = true }
    let top = selection.topKRows(k)
    var assignments: [ExpertAssignment<Scalar>] = []
    assignments.reserveCapacity(logits.rows * k)
    for t in 0..<logits.rows where !isSkipped[t] {
      let experts = (0..<k).map { top.index(row: t, rank: $0) }
      var weights = experts.map { scores[t, $0] }
      if normalize {
        // The 1e-20 floor follows DeepSeek-V3 and keeps an all-zero row finite.
        let total = weights.reduce(0, +) + Scalar(1e-20)
        weights = weights.map { $0 / total }
      }
      for (rank, (e, w)) in zip(experts, weights).enumerated() {
        assignments.append(ExpertAssignment(token: t, expert: e, weight: w * scale, rank: rank))
      }
    }
    return RoutingDecision(
      tokenCount: logits.rows, expertCount: logits.columns, assignments: assignments, logits: logits,
      probabilities: scores, nonFiniteTokens: skipped)
  }
}
