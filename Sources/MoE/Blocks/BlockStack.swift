import Linalg

/// The forward pass of a whole stack: the output and each layer's MoE result.
public struct StackForward<Scalar: BLASScalar>: Sendable {
  /// `T × d`.
  public var output: Matrix<Scalar>
  /// One entry per layer: the MoE result, or `nil` for a dense layer.
  public var layers: [MoEForward<Scalar>?]
}

/// Residual blocks applied one after another, dense or MoE per a `StackLayout`.
///
/// Shapes: `x` and the output are `T × d`.
public struct BlockStack<Scalar: BLASScalar>: Sendable, ParameterContainer {
  /// The blocks, first to last.
  public var blocks: [FeedForwardBlock<Scalar>]

  /// A stack from its blocks.
  public init(blocks: [FeedForwardBlock<Scalar>]) {
    self.blocks = blocks
  }

  /// A randomly initialised stack: dense layers are gated networks of width
  /// `denseHiddenDimensions`, MoE layers come from `makeMoE(layerIndex, &generator)`.
  public init<Generator: RandomNumberGenerator>(
    layout: StackLayout, dimensions: Int, denseHiddenDimensions: Int, using generator: inout Generator,
    makeMoE: (Int, inout Generator) -> MoELayer<Scalar>
  ) {
    blocks = layout.isMoE.enumerated().map { i, isMoE in
      let sublayer: FeedForwardSublayer<Scalar> =
        isMoE
        ? .moe(makeMoE(i, &generator))
        : .dense(
          FeedForward(dimensions: dimensions, hiddenDimensions: denseHiddenDimensions, using: &generator))
      return FeedForwardBlock(
        feedForwardNorm: Normalization(rmsDimensions: dimensions), feedForward: sublayer)
    }
  }

  /// The layout the blocks follow.
  public var layout: StackLayout { StackLayout(isMoE: blocks.map(\.feedForward.isMoE)) }

  /// The stack applied to `x` (`T × d`), one shared workspace for all MoE layers.
  public func forward(_ x: Matrix<Scalar>, context: inout RoutingContext) -> StackForward<Scalar> {
    var workspace = MoEWorkspace<Scalar>()
    var h = x
    var layers: [MoEForward<Scalar>?] = []
    for block in blocks {
      let (output, moe) = block.forward(h, context: &context, workspace: &workspace)
      h = output
      layers.append(moe)
    }
    return StackForward(output: h, layers: layers)
  }

  /// The forward pass, keeping every block's cache for `backward`.
  public func forwardForTraining(
    _ x: Matrix<Scalar>, context: inout RoutingContext
  ) -> (result: StackForward<Scalar>, caches: [FeedForwardBlock<Scalar>.Cache]) {
    var h = x
    var layers: [MoEForward<Scalar>?] = []
    var caches: [FeedForwardBlock<Scalar>.Cache] = []
    for block in blocks {
      let (output, moe, cache) = block.forwardForTraining(h, context: &context)
      h = output
      layers.append(moe)
      caches.append(cache)
    }
    return (StackForward(output: h, layers: layers), caches)
  }

  /// The backward pass through every block, last to first.
  ///
  /// - Parameters:
  ///   - routerLosses: per layer, the balancing-loss gradients of its router (or
  ///     `nil`); an empty array means none.
  ///   - dy: `∂loss/∂output`, `T × d`.
  ///   - caches: the training forward pass's caches, one per block.
  public mutating func backward(
    _ dy: Matrix<Scalar>, caches: [FeedForwardBlock<Scalar>.Cache],
    routerLosses: [RouterLossGradient<Scalar>?] = []
  ) -> Matrix<Scalar> {
    precondition(
      caches.count == blocks.count, "BlockStack.backward: \(caches.count) caches for \(blocks.count) blocks")
    var gradient = dy
    for i in blocks.indices.reversed() {
      gradient = blocks[i].backward(
        gradient, cache: caches[i], routerLoss: i < routerLosses.count ? routerLosses[i] : nil)
    }
    return gradient
  }

  /// Visits every block's parameters as `layers.{i}.*`.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    for i in blocks.indices { blocks[i].visitParameters(prefix: Self._join(prefix, "layers.\(i)"), body) }
  }
}
