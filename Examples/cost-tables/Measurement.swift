import CostModel
import Linalg
import MoE
import Report

/// The measured column: every Table 1 architecture with its widths divided by one common
/// factor, built from MoEKit's real layers (pre-norm residual blocks of dense or MoE
/// feed-forward networks; attention and embeddings are not built yet, so both the
/// measurement and the prediction cover the feed-forward stack), timed per token in this
/// build, and set beside the ratio `CostModel` predicts for the same scaled stack.
struct Measurement {
  var settings: Settings
  var scale: Int
  var tokens: Int

  func section() -> Section {
    let architectures = ReferenceArchitectures.table1.map(scaled)
    var table = Table(
      header: [
        "architecture (widths ÷ \(scale))", "FFN weights (M)", "µs/token", "measured vs Dense 7B",
        "predicted vs Dense 7B", "measured/predicted",
      ],
      alignments: [.left, .right, .right, .right, .right, .right])
    var generator = Xoshiro256StarStar(seed: 7)
    var baseline: (measured: Double, predicted: Double)?
    for a in architectures {
      let stack = build(a, using: &generator)
      let x = Matrix<Float>.normal(rows: tokens, columns: a.width, using: &generator)
      var context = RoutingContext()
      let seconds = Stopwatch.median(repetitions: 5) { _ = stack.forward(x, context: &context) }
      let perToken = seconds / Double(tokens)
      let predicted = feedForwardFLOPs(a)
      let base = baseline ?? (perToken, predicted)
      baseline = base
      let measuredRatio = perToken / base.measured
      let predictedRatio = predicted / base.predicted
      table.append([
        a.name, Format.fixed(Double(feedForwardWeights(a)) / 1e6, 1), Format.fixed(perToken * 1e6, 1),
        Format.fixed(measuredRatio, 2) + "x", Format.fixed(predictedRatio, 2) + "x",
        Format.fixed(measuredRatio / predictedRatio, 2),
      ])
    }
    return Section(
      key: "measured",
      title: "Measured here: Table 1's architectures scaled down (\(tokens) tokens per forward pass, Float)",
      formulas: ["predicted = Σ layers 2 × active feed-forward weights (the scaled stack's FLOP/token)"],
      table: table, numericColumns: ["FFN weights (M)", "µs/token"],
      notes: [
        "measured/predicted above 1 means the sparse stack runs slower than its FLOPs promise: each expert sees only about tokens·k/E tokens, and small GEMMs run below peak.",
        "Attention, embeddings and the output head are not in the measured stacks (MoEKit has no attention layer yet), so these ratios compare feed-forward stacks only.",
      ])
  }

  /// `a` with its width and every FFN width divided by `scale` (at least 1).
  func scaled(_ a: Architecture) -> Architecture {
    var s = a
    s.width = Swift.max(1, a.width / scale)
    s.denseFeedForward.hidden = Swift.max(1, a.denseFeedForward.hidden / scale)
    if var moe = a.moe {
      moe.expert.hidden = Swift.max(1, moe.expert.hidden / scale)
      moe.sharedExpert.hidden = Swift.max(1, moe.sharedExpert.hidden / scale)
      s.moe = moe
    }
    return s
  }

  /// The feed-forward weights of `a`'s layers.
  func feedForwardWeights(_ a: Architecture) -> Int {
    (0..<a.layers).reduce(0) { $0 + a.totalParameters(layer: $1) - a.attentionAndNormParametersPerLayer }
  }

  /// FLOPs per token of `a`'s feed-forward stack: 2 per weight a token multiplies.
  func feedForwardFLOPs(_ a: Architecture) -> Double {
    (0..<a.layers).reduce(0) {
      $0 + 2 * Double(a.activeParameters(layer: $1) - a.attentionAndNormParametersPerLayer)
    }
  }

  /// A stack of `a`'s layers: dense SwiGLU blocks or MoE blocks with top-k softmax routing
  /// and `a`'s shared experts.
  func build(_ a: Architecture, using generator: inout Xoshiro256StarStar) -> BlockStack<Float> {
    let layout = StackLayout(isMoE: a.isMoELayer)
    return BlockStack<Float>(
      layout: layout, dimensions: a.width, denseHiddenDimensions: a.denseFeedForward.hidden, using: &generator
    ) { _, g in
      let moe = a.moe!
      return MoELayer<Float>(
        dimensions: a.width, hiddenDimensions: moe.expert.hidden,
        router: TopKSoftmaxRouter(
          dimensions: a.width, expertCount: moe.routedExperts, k: moe.topK, using: &g),
        sharedHiddenDimensions: moe.sharedExperts > 0 ? moe.sharedExperts * moe.sharedExpert.hidden : nil,
        gatedSharedExpert: moe.sharedExpertGate, using: &g)
    }
  }
}
