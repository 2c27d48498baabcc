import Linalg

/// Auxiliary-loss-free load balancing: after each training step, every expert's selection
/// bias moves by a fixed step towards balance, `bᵢ ← bᵢ + γ · sign(mean load − loadᵢ)`.
/// Overloaded experts become less likely to be chosen, underloaded ones more; the combine
/// weights never see the bias, and no gradient is involved.
///
/// ### References
/// Wang et al. 2024, "Auxiliary-Loss-Free Load Balancing Strategy for Mixture-of-Experts",
/// arXiv 2408.15664; DeepSeek-V3 (arXiv 2412.19437 §2.1.2, `γ = 0.001`).
public struct AuxiliaryLossFreeBalancer: Sendable {
  /// `γ`, the bias update speed.
  public var updateRate: Double

  /// A balancer with update speed `γ`.
  public init(updateRate: Double = 0.001) { self.updateRate = updateRate }

  /// Moves `bias` (`1 × E`) by `γ · sign(mean − loadᵢ)` for the per-expert `loads`.
  public func update<Scalar: BLASScalar>(_ bias: inout Matrix<Scalar>, loads: [Int]) {
    precondition(
      bias.shape == (1, loads.count),
      "AuxiliaryLossFreeBalancer: bias \(bias.rows)×\(bias.columns) for \(loads.count) experts")
    let mean = Double(loads.reduce(0, +)) / Double(Swift.max(1, loads.count))
    for (i, load) in loads.enumerated() {
      let direction: Double = Double(load) < mean ? 1 : (Double(load) > mean ? -1 : 0)
      bias[0, i] += Scalar(updateRate * direction)
    }
  }

  /// Updates the selection bias of `router` from its latest loads.
  public func update<Scalar: BLASScalar>(_ router: inout GroupLimitedRouter<Scalar>, loads: [Int]) {
    update(&router.selectionBias, loads: loads)
  }

  /// Updates the selection bias of `block`'s router from its latest loads, when the block is
  /// MoE and its router has a selection bias (`GroupLimitedRouter`); otherwise does nothing.
  public func update<Scalar: BLASScalar>(_ block: inout FeedForwardBlock<Scalar>, loads: [Int]) {
    guard var moe = block.moe, var router = moe.router as? GroupLimitedRouter<Scalar> else { return }
    update(&router, loads: loads)
    moe.router = router
    block.feedForward = .moe(moe)
  }
}
