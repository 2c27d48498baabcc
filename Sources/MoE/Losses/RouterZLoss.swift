import Linalg

/// The router z-loss of ST-MoE: `L = β · (1/T) Σ_t (log Σⱼ exp z_{t,j})²`, which keeps
/// router logits small (large logits make the softmax brittle in low precision), with
/// `∂L/∂z_{t,j} = β · 2 · lse_t · softmax(z_t)_j / T`.
///
/// ### References
/// Zoph et al. 2022, "ST-MoE: Designing Stable and Transferable Sparse Expert Models",
/// arXiv 2202.08906, eq. 5 (`β = 0.001`).
public struct RouterZLoss: Sendable {
  /// `β`.
  public var coefficient: Double

  /// A loss with coefficient `β`.
  public init(coefficient: Double = 0.001) { self.coefficient = coefficient }

  /// The loss of a routing decision and its gradient with respect to `decision.logits`.
  public func evaluate<Scalar: BLASScalar>(
    _ decision: RoutingDecision<Scalar>
  ) -> (loss: Scalar, logitGradient: Matrix<Scalar>) {
    let lse = decision.logits.logSumExpRows()
    let t = Scalar(Swift.max(1, decision.tokenCount))
    let beta = Scalar(coefficient)
    let loss = beta * lse.reduce(0) { $0 + $1 * $1 } / t
    var gradient = decision.logits.softmaxRows()
    gradient.scaleRows(by: lse.map { beta * 2 * $0 / t })
    return (loss, gradient)
  }
}
