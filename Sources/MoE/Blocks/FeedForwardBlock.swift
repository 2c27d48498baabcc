import Linalg

/// The feed-forward half of a decoder layer: a pre-norm residual block `x + r·ffn(norm(x))`
/// whose feed-forward is dense or MoE. `DecoderBlock` puts attention in front of one; a
/// `BlockStack` of them alone is a feed-forward stack (the routing experiments train those).
///
/// Shapes: `x` and the output are `T × d`.
public struct FeedForwardBlock<Scalar: BLASScalar>: Sendable, ParameterContainer {
  /// The norm in front of the feed-forward (`post_attention_layernorm` in Hugging Face).
  public var feedForwardNorm: Normalization<Scalar>
  /// The dense feed-forward network of a dense block (exactly one of `dense` and `moe` is
  /// set; both are stored directly so that backward passes update them in place).
  public private(set) var dense: FeedForward<Scalar>?
  /// The MoE layer of a MoE block.
  public private(set) var moe: MoELayer<Scalar>?
  /// `r` in `x + r·ffn(norm(x))` (Granite's `residual_multiplier`; 1 elsewhere).
  public var residualScale: Scalar = 1

  /// The feed-forward sublayer.
  public var feedForward: FeedForwardSublayer<Scalar> {
    get { moe.map { .moe($0) } ?? .dense(dense!) }
    set {
      switch newValue {
      case .dense(let network): (dense, moe) = (network, nil)
      case .moe(let layer): (dense, moe) = (nil, layer)
      }
    }
  }

  /// A block from its parts.
  public init(feedForwardNorm: Normalization<Scalar>, feedForward: FeedForwardSublayer<Scalar>) {
    self.feedForwardNorm = feedForwardNorm
    self.feedForward = feedForward
  }

  /// The block applied to `x` (`T × d`), with the MoE layer's result when it has one.
  public func forward(
    _ x: Matrix<Scalar>, context: inout RoutingContext, workspace: inout MoEWorkspace<Scalar>
  ) -> (output: Matrix<Scalar>, moe: MoEForward<Scalar>?) {
    let normalized = OperationProfile.measure("feed-forward norm") { feedForwardNorm(x) }
    switch feedForward {
    case .dense(let network):
      let y = OperationProfile.measure("dense feed-forward", bytes: network.weightBytes) {
        network(normalized)
      }
      return (x + residual(y), nil)
    case .moe(let layer):
      let result = layer.forward(normalized, context: &context, workspace: &workspace)
      return (x + residual(result.output), result)
    }
  }

  /// `r·y`, or `y` itself when `r = 1`.
  func residual(_ y: Matrix<Scalar>) -> Matrix<Scalar> { residualScale == 1 ? y : y * residualScale }

  /// What the block's backward pass needs from its forward pass.
  public struct Cache: Sendable {
    /// The block's input.
    public var input: Matrix<Scalar>
    /// The feed-forward's input, `norm(x)`.
    public var normalized: Matrix<Scalar>
    /// The dense network's cache, for a dense block.
    public var dense: FeedForward<Scalar>.Cache?
    /// The MoE layer's cache, for a MoE block.
    public var moe: MoELayer<Scalar>.Cache?
  }

  /// The forward pass, keeping what `backward` needs.
  public func forwardForTraining(
    _ x: Matrix<Scalar>, context: inout RoutingContext
  ) -> (output: Matrix<Scalar>, moe: MoEForward<Scalar>?, cache: Cache) {
    let normalized = feedForwardNorm(x)
    switch feedForward {
    case .dense(let network):
      let (y, cache) = network.forwardForTraining(normalized)
      return (x + residual(y), nil, Cache(input: x, normalized: normalized, dense: cache, moe: nil))
    case .moe(let layer):
      let (result, cache) = layer.forwardForTraining(normalized, context: &context)
      return (
        x + residual(result.output), result, Cache(input: x, normalized: normalized, dense: nil, moe: cache)
      )
    }
  }

  /// The backward pass of `x + ffn(norm(x))`: `∂x = dy + norm′ᵀ(ffn′ᵀ(dy))`.
  ///
  /// - Parameters:
  ///   - routerLoss: balancing-loss gradients for a MoE block's router.
  ///   - dy: `∂loss/∂output`, `T × d`.
  ///   - cache: the training forward pass's cache.
  public mutating func backward(
    _ dy: Matrix<Scalar>, cache: Cache, routerLoss: RouterLossGradient<Scalar>? = nil
  ) -> Matrix<Scalar> {
    let dBranch = residual(dy)
    let dNormalized =
      moe != nil
      ? moe!.backward(dBranch, cache: cache.moe!, routerLoss: routerLoss)
      : dense!.backward(dBranch, cache: cache.dense!)
    return dy + feedForwardNorm.backward(dNormalized, input: cache.input)
  }

  /// Visits `norm.weight`, then `mlp.*` (dense) or `moe.*`.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    feedForwardNorm.visitParameters(prefix: Self._join(prefix, "norm"), body)
    if moe != nil {
      moe!.visitParameters(prefix: Self._join(prefix, "moe"), body)
    } else {
      dense!.visitParameters(prefix: Self._join(prefix, "mlp"), body)
    }
  }
}
