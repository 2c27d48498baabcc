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
public struct BlockStack<Scalar: BLASScalar>: Sendable {
  /// The blocks, first to last.
  public var blocks: [TransformerBlock<Scalar>]

  /// A stack from its blocks.
  public init(blocks: [TransformerBlock<Scalar>]) {
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
      return TransformerBlock(feedForwardNorm: RMSNorm(dimensions: dimensions), feedForward: sublayer)
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
}
