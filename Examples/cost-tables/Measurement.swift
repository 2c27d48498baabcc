import CostModel
import Linalg
import MoE
import Report

/// The measured column: every Table 1 architecture with its widths divided by one common
/// factor, built from MoEKit's real layers (pre-norm decoder layers: RoPE attention of the
/// architecture's heads, and dense or MoE feed-forward networks; embeddings and the output
/// head are left out of both sides), timed per token in this build, and set beside the
/// ratio `CostModel` predicts for the same scaled stack.
struct Measurement {
  var settings: Settings
  var scale: Int
  var tokens: Int

  func section() -> Section {
    let architectures = ReferenceArchitectures.table1.map(scaled)
    var table = Table(
      header: [
        "architecture (widths ÷ \(scale))", "layer weights (M)", "µs/token", "measured vs Dense 7B",
        "predicted vs Dense 7B", "measured/predicted",
      ],
      alignments: [.left, .right, .right, .right, .right, .right])
    var generator = Xoshiro256StarStar(seed: 7)
    var baseline: (measured: Double, predicted: Double)?
    let layout = SequenceLayout.single(tokens)
    for a in architectures {
      let blocks = build(a, using: &generator)
      let x = Matrix<Float>.normal(rows: tokens, columns: a.width, using: &generator)
      var context = RoutingContext()
      var workspace = MoEWorkspace<Float>()
      let seconds = Stopwatch.median(repetitions: 5) {
        var h = x
        for block in blocks {
          h = block.forward(h, layout: layout, context: &context, workspace: &workspace).output
        }
      }
      let perToken = seconds / Double(tokens)
      let predicted = layerFLOPs(a)
      let base = baseline ?? (perToken, predicted)
      baseline = base
      let measuredRatio = perToken / base.measured
      let predictedRatio = predicted / base.predicted
      table.append([
        a.name, Format.fixed(Double(layerWeights(a)) / 1e6, 1), Format.fixed(perToken * 1e6, 1),
        Format.fixed(measuredRatio, 2) + "x", Format.fixed(predictedRatio, 2) + "x",
        Format.fixed(measuredRatio / predictedRatio, 2),
      ])
    }
    return Section(
      key: "measured",
      title: "Measured here: Table 1's architectures scaled down (\(tokens) tokens per forward pass, Float)",
      formulas: [
        "predicted = Σ layers (attention FLOPs at the mean context \(meanContext) + 2 × active feed-forward weights): the scaled stack's FLOP/token"
      ],
      table: table, numericColumns: ["layer weights (M)", "µs/token"],
      notes: [
        "measured/predicted above 1 means the sparse stack runs slower than its FLOPs promise: each expert sees only about tokens·k/E tokens, and small GEMMs run below peak.",
        "Each layer is a whole decoder layer (causal RoPE attention with the architecture's heads, then the feed-forward network); embeddings and the output head are in neither side.",
      ])
  }

  /// The mean number of positions a token of the measured batch attends to.
  var meanContext: Int { (tokens + 1) / 2 }

  /// `a` with its width, every FFN width and the attention head widths divided by
  /// `scale` (at least 1; head widths at least 2 and even, for RoPE).
  func scaled(_ a: Architecture) -> Architecture {
    var s = a
    func shrink(_ n: Int) -> Int { Swift.max(1, n / scale) }
    func shrinkHead(_ n: Int) -> Int { Swift.max(2, n / scale / 2 * 2) }
    s.width = shrink(a.width)
    s.denseFeedForward.hidden = shrink(a.denseFeedForward.hidden)
    if var moe = a.moe {
      moe.expert.hidden = shrink(moe.expert.hidden)
      moe.sharedExpert.hidden = shrink(moe.sharedExpert.hidden)
      s.moe = moe
    }
    switch a.attention {
    case .grouped(let heads, let kvHeads, let headDim, let bias, let qkNorm, let outputBias):
      s.attention = .grouped(
        heads: heads, kvHeads: kvHeads, headDim: shrinkHead(headDim), qkvBias: bias, qkNorm: qkNorm,
        outputBias: outputBias)
    case .latent(let heads, let qRank, let kvRank, let nope, let rope, let v):
      s.attention = .latent(
        heads: heads, qLoRARank: qRank.map(shrink), kvLoRARank: shrink(kvRank), nopeHeadDim: shrinkHead(nope),
        ropeHeadDim: shrinkHead(rope), vHeadDim: shrinkHead(v))
    case .windowed, .withSinks, .outputGated, .sparse, .recurrent:
      preconditionFailure("the article's architectures use plain MHA, GQA or MLA")
    }
    return s
  }

  /// The weights of `a`'s layers (attention, norms, feed-forward).
  func layerWeights(_ a: Architecture) -> Int {
    (0..<a.layers).reduce(0) { $0 + a.totalParameters(layer: $1) }
  }

  /// FLOPs per token of `a`'s layers: attention at the mean context plus 2 per
  /// feed-forward weight a token multiplies.
  func layerFLOPs(_ a: Architecture) -> Double {
    (0..<a.layers).reduce(0) {
      $0 + a.attentionFLOPs(layer: $1, context: meanContext)
        + 2 * Double(a.activeParameters(layer: $1) - a.attentionAndNormParameters(layer: $1))
    }
  }

  /// `a`'s layers: its attention (grouped-query or latent), then dense SwiGLU or MoE
  /// blocks with top-k softmax routing and `a`'s shared experts.
  func build(_ a: Architecture, using generator: inout Xoshiro256StarStar) -> [DecoderBlock<Float>] {
    let stack = BlockStack<Float>(
      layout: StackLayout(isMoE: a.isMoELayer), dimensions: a.width,
      denseHiddenDimensions: a.denseFeedForward.hidden, using: &generator
    ) { _, g in
      let moe = a.moe!
      return MoELayer<Float>(
        dimensions: a.width, hiddenDimensions: moe.expert.hidden,
        router: TopKSoftmaxRouter(
          dimensions: a.width, expertCount: moe.routedExperts, k: moe.topK, using: &g),
        sharedHiddenDimensions: moe.sharedExperts > 0 ? moe.sharedExperts * moe.sharedExpert.hidden : nil,
        gatedSharedExpert: moe.sharedExpertGate, using: &g)
    }
    return stack.blocks.map { block in
      DecoderBlock(
        attentionNorm: Normalization(rmsDimensions: a.width), attention: attention(a, using: &generator),
        feedForward: block)
    }
  }

  func attention(_ a: Architecture, using g: inout Xoshiro256StarStar) -> AttentionSublayer<Float> {
    switch a.attention {
    case .grouped(let heads, let kvHeads, let headDim, let bias, _, _):
      return .grouped(
        MultiHeadAttention(
          dimensions: a.width, heads: heads, kvHeads: kvHeads, headDimensions: headDim, bias: bias, using: &g)
      )
    case .latent(let heads, let qRank, let kvRank, let nope, let rope, let v):
      return .latent(
        MultiHeadLatentAttention(
          dimensions: a.width, heads: heads, queryRank: qRank, latentRank: kvRank, nopeDimensions: nope,
          ropeDimensions: rope, valueDimensions: v, using: &g))
    case .windowed, .withSinks, .outputGated, .sparse, .recurrent:
      preconditionFailure("the article's architectures use plain MHA, GQA or MLA")
    }
  }
}
