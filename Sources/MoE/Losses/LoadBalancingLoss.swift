import Linalg

/// The Switch Transformer / GShard auxiliary load-balancing loss:
/// `L = α · E · Σᵢ fᵢ · Pᵢ`, where `fᵢ` is the fraction of the router's assignments that went
/// to expert `i` and `Pᵢ = (1/T) Σ_t p_{t,i}` its mean router probability. `f` is a count
/// and carries no gradient; `∂L/∂p_{t,i} = α · E · fᵢ / T`. Perfect balance gives `α`;
/// the loss grows as probability mass concentrates where the load already is.
///
/// ### References
/// Fedus, Zoph & Shazeer 2021, Switch Transformers, arXiv 2101.03961, eq. 4–6; Lepikhin
/// et al. 2020, GShard, arXiv 2006.16668.
public struct LoadBalancingLoss: Sendable {
  /// `α` (Switch uses 0.01).
  public var coefficient: Double

  /// A loss with coefficient `α`.
  public init(coefficient: Double = 0.01) { self.coefficient = coefficient }

  /// The loss of a routing decision and its gradient with respect to
  /// `decision.probabilities` (`T × E`).
  public func evaluate<Scalar: BLASScalar>(
    _ decision: RoutingDecision<Scalar>
  ) -> (loss: Scalar, probabilityGradient: Matrix<Scalar>) {
    let e = decision.expertCount
    let counts = decision.tokensPerExpert
    let total = Swift.max(1, counts.reduce(0, +))
    let f = counts.map { Scalar($0) / Scalar(total) }
    let p = decision.probabilities.columnMeans()
    let alpha = Scalar(coefficient)
    let loss = alpha * Scalar(e) * zip(f, p).reduce(0) { $0 + $1.0 * $1.1 }
    let t = Scalar(Swift.max(1, decision.tokenCount))
    let row = Matrix(row: f.map { alpha * Scalar(e) * $0 / t })
    let gradient = Matrix<Scalar>(rows: decision.tokenCount, columns: e) + row
    return (loss, gradient)
  }
}
