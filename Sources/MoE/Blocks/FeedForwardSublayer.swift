import Linalg

/// The feed-forward half of a block: a dense network or a MoE layer.
public enum FeedForwardSublayer<Scalar: BLASScalar>: Sendable {
  /// Every token through one network.
  case dense(FeedForward<Scalar>)
  /// Every token through the experts its router picks.
  case moe(MoELayer<Scalar>)

  /// Whether this is a MoE layer.
  public var isMoE: Bool {
    if case .moe = self { return true }
    return false
  }
}
