import Linalg

/// The balancing remedies a MoE training run applies at every step, and the collapse watch
/// over each layer — the part of a training loop with router losses that does not depend on
/// the model: Switch's auxiliary loss (Fedus et al. 2021), the router z-loss (Zoph et al.
/// 2022) and DeepSeek-V3's auxiliary-loss-free bias update (Wang et al. 2024), any subset.
///
/// A step: run the forward pass, take `routerLosses(for:)` of its MoE results (which also
/// shows each layer's loads to its `CollapseDetector`), pass them to the backward pass, update
/// the parameters, then `updateBias(of:result:)` on each MoE block.
public struct BalancingRegimen: Sendable {
  /// The auxiliary load-balancing loss, or `nil`.
  public var auxiliary: LoadBalancingLoss?
  /// The router z-loss, or `nil`.
  public var zLoss: RouterZLoss?
  /// The bias update applied after each step, or `nil`.
  public var biasUpdate: AuxiliaryLossFreeBalancer?
  /// One detector per layer (dense layers' stay silent).
  public private(set) var detectors: [CollapseDetector]

  /// A regimen for a model of `layers` layers.
  public init(
    layers: Int, auxiliary: LoadBalancingLoss? = nil, zLoss: RouterZLoss? = nil,
    biasUpdate: AuxiliaryLossFreeBalancer? = nil, detector: CollapseDetector = CollapseDetector()
  ) {
    (self.auxiliary, self.zLoss, self.biasUpdate) = (auxiliary, zLoss, biasUpdate)
    detectors = Array(repeating: detector, count: layers)
  }

  /// Whether any layer's detector has fired.
  public var collapsed: Bool { detectors.contains { $0.hasFired } }

  /// The gradients of the balancing losses for each layer's MoE result (`nil` for a dense
  /// layer, and an empty gradient when no loss is set), after showing each MoE layer's loads
  /// to its detector.
  ///
  /// - Precondition: one result per layer.
  public mutating func routerLosses<Scalar: BLASScalar>(for results: [MoEForward<Scalar>?])
    -> [RouterLossGradient<Scalar>?]
  {
    precondition(
      results.count == detectors.count,
      "BalancingRegimen: \(results.count) results for \(detectors.count) layers")
    return results.enumerated().map { i, result in
      guard let result else { return nil }
      var gradient = RouterLossGradient<Scalar>()
      if let auxiliary { gradient.addProbabilities(auxiliary.evaluate(result.decision).probabilityGradient) }
      if let zLoss { gradient.addLogits(zLoss.evaluate(result.decision).logitGradient) }
      detectors[i].observe(loads: result.stats.tokensPerExpert)
      return gradient
    }
  }

  /// The bias update on `block` from the loads of its MoE `result`, when the regimen has one.
  public func updateBias<Scalar: BLASScalar>(
    of block: inout FeedForwardBlock<Scalar>, result: MoEForward<Scalar>?
  ) {
    guard let biasUpdate, let result else { return }
    biasUpdate.update(&block, loads: result.stats.tokensPerExpert)
  }
}
