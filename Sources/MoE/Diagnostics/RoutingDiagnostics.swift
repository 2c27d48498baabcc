import Linalg
import RealModule

/// How evenly one MoE layer spread its work in one step, from its `RoutingStats`.
///
/// With `n_i` the assignments expert `i` processed, `f_i = n_i / Σ n` its load fraction and
/// `E` experts:
/// - coefficient of variation `CV = std(n) / mean(n)` (0 when balanced);
/// - MaxVio `= max(n) / mean(n) − 1` (DeepSeek-V3's maximal violation);
/// - load entropy `= −Σ f_i ln f_i / ln E`, 1 when balanced, 0 when one expert takes all;
/// - dead experts: those with `f_i < deadThreshold / E` (default: a tenth of a fair share);
/// - dropped fraction: dropped assignments over all the router made.
public struct RoutingDiagnostics: Sendable, Equatable {
  /// `f_i`, each expert's share of the processed assignments.
  public var loadFractions: [Double]
  /// `std(n) / mean(n)`.
  public var coefficientOfVariation: Double
  /// `max(n) / mean(n) − 1`.
  public var maxViolation: Double
  /// `−Σ f ln f / ln E`, in `[0, 1]`.
  public var loadEntropy: Double
  /// The mean over tokens of the entropy of the router's probabilities, in nats, when the
  /// probabilities were given.
  public var meanTokenEntropy: Double?
  /// Experts below `deadThreshold / E` of the load.
  public var deadExperts: Int
  /// Dropped assignments over all assignments the router made.
  public var droppedFraction: Double

  /// The diagnostics of one layer's step.
  ///
  /// - Parameters:
  ///   - stats: the layer's routing statistics.
  ///   - probabilities: the router's `T × E` probabilities, for the token entropy.
  ///   - deadThreshold: the share of a fair load (`1/E`) below which an expert counts as
  ///     dead.
  public init<Scalar: BLASScalar>(
    _ stats: RoutingStats<Scalar>, probabilities: Matrix<Scalar>? = nil, deadThreshold: Double = 0.1
  ) {
    let counts = stats.tokensPerExpert.map(Double.init)
    let e = Double(Swift.max(1, counts.count))
    let total = counts.reduce(0, +)
    let mean = total / e
    let fractions = counts.map { total > 0 ? $0 / total : 0 }
    let variance = counts.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / e
    loadFractions = fractions
    coefficientOfVariation = mean > 0 ? variance.squareRoot() / mean : 0
    maxViolation = mean > 0 ? (counts.max() ?? 0) / mean - 1 : 0
    let entropy = fractions.reduce(0) { $1 > 0 ? $0 - $1 * Double.log($1) : $0 }
    loadEntropy = counts.count > 1 ? entropy / Double.log(e) : 1
    deadExperts = fractions.count { $0 < deadThreshold / e }
    let made = total + Double(stats.droppedAssignments)
    droppedFraction = made > 0 ? Double(stats.droppedAssignments) / made : 0
    meanTokenEntropy = probabilities.map { p in
      let rows = (0..<p.rows).map { t in
        p[row: t].reduce(0.0) { $1 > 0 ? $0 - Double($1) * Double.log(Double($1)) : $0 }
      }
      return rows.reduce(0, +) / Double(Swift.max(1, p.rows))
    }
  }
}
