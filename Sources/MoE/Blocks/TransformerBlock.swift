import Linalg

/// A pre-norm residual block, `x + ffn(norm(x))`, whose feed-forward is dense or MoE.
///
/// The block owns the order of its sublayers, so the attention sublayer
/// (`x + attention(norm₁(x))` before the feed-forward) slots in here later without
/// changing `forward`'s callers.
///
/// Shapes: `x` and the output are `T × d`.
public struct TransformerBlock<Scalar: BLASScalar>: Sendable {
  /// The norm in front of the feed-forward (`post_attention_layernorm` in Hugging Face).
  public var feedForwardNorm: RMSNorm<Scalar>
  /// The feed-forward sublayer.
  public var feedForward: FeedForwardSublayer<Scalar>

  /// A block from its parts.
  public init(feedForwardNorm: RMSNorm<Scalar>, feedForward: FeedForwardSublayer<Scalar>) {
    self.feedForwardNorm = feedForwardNorm
    self.feedForward = feedForward
  }

  /// The block applied to `x` (`T × d`), with the MoE layer's result when it has one.
  public func forward(
    _ x: Matrix<Scalar>, context: inout RoutingContext, workspace: inout MoEWorkspace<Scalar>
  ) -> (output: Matrix<Scalar>, moe: MoEForward<Scalar>?) {
    let normalized = feedForwardNorm(x)
    switch feedForward {
    case .dense(let network):
      return (x + network(normalized), nil)
    case .moe(let layer):
      let result = layer.forward(normalized, context: &context, workspace: &workspace)
      return (x + result.output, result)
    }
  }
}
