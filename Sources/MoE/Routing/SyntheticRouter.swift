import Linalg
import RealModule

/// A router without a gate, for benchmarks and simulations that need a routing
/// distribution rather than a trained model: every token draws `k` distinct experts from
/// a fixed distribution `p` (without replacement, from the context's generator), with
/// combine weights `p_e` renormalised over the chosen experts.
///
/// `probabilities` in the decision holds `p` in every row; `logits` hold `log p`.
public struct SyntheticRouter<Scalar: BLASScalar>: Router {
  /// The expert-load distribution.
  public enum Distribution: Sendable, Equatable {
    /// Every expert equally likely.
    case uniform
    /// `p_e ∝ 1/(e + 1)^s`: expert 0 most popular, a power-law tail (Zipf's law), the
    /// shape of a collapsing router.
    case zipf(exponent: Double)
  }

  /// `p`, one probability per expert, summing to 1.
  public let distribution: [Scalar]
  /// Experts per token when a call does not say.
  public var defaultK: Int

  /// A router over `expertCount` experts.
  public init(expertCount: Int, k: Int, distribution: Distribution = .uniform) {
    precondition(expertCount >= 1, "SyntheticRouter: needs at least one expert")
    let weights: [Double]
    switch distribution {
    case .uniform:
      weights = [Double](repeating: 1, count: expertCount)
    case .zipf(let s):
      precondition(
        s >= 0 && s.isFinite, "SyntheticRouter: Zipf exponent \(s) must be finite and non-negative")
      weights = (0..<expertCount).map { Double.pow(Double($0 + 1), -s) }
    }
    let total = weights.reduce(0, +)
    self.distribution = weights.map { Scalar($0 / total) }
    self.defaultK = k
    _checkK(k)
  }

  /// `E`.
  public var expertCount: Int { distribution.count }

  /// `k` experts for each of `x.rows` tokens drawn from `distribution`; `x`'s values are
  /// not read.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func route(_ x: Matrix<Scalar>, k: Int, context: inout RoutingContext) -> RoutingDecision<Scalar> {
    _checkK(k)
    let probabilities = Matrix(rows: x.rows, columns: expertCount) { _, e in distribution[e] }
    var assignments: [ExpertAssignment<Scalar>] = []
    assignments.reserveCapacity(x.rows * k)
    var remaining = distribution
    for t in 0..<x.rows {
      for e in remaining.indices { remaining[e] = distribution[e] }
      var chosen: [Int] = []
      for _ in 0..<k {
        let mass = remaining.reduce(0, +)
        var u = context.generator.nextUniform(Scalar.self) * mass
        // The last expert with mass left catches rounding at the top of the range.
        var pick = remaining.lastIndex { $0 > 0 } ?? 0
        for (e, w) in remaining.enumerated() where w > 0 {
          if u < w {
            pick = e
            break
          }
          u -= w
        }
        chosen.append(pick)
        remaining[pick] = 0
      }
      let total = chosen.reduce(Scalar(0)) { $0 + distribution[$1] }
      for (rank, e) in chosen.enumerated() {
        assignments.append(
          ExpertAssignment(token: t, expert: e, weight: distribution[e] / total, choice: rank))
      }
    }
    return RoutingDecision(
      tokenCount: x.rows, expertCount: expertCount, assignments: assignments,
      logits: Matrix(rows: x.rows, columns: expertCount) { _, e in Scalar.log(distribution[e]) },
      probabilities: probabilities)
  }

  /// No parameters, nothing to learn: `∂L/∂x = 0`.
  public mutating func backward(
    _ x: Matrix<Scalar>, decision: RoutingDecision<Scalar>, gradient: RoutingGradient<Scalar>
  ) -> Matrix<Scalar> {
    Matrix(rows: x.rows, columns: x.columns)
  }

  /// No parameters.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {}
}
