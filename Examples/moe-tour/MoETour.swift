import ArgumentParser
import Linalg
import MoE
import Report
import _ExampleSupport

/// Builds a small hybrid stack — two dense layers, then MoE layers with the routing
/// schemes of Mixtral, DeepSeek-V3, expert choice, Qwen2-MoE and a collapsed (Zipf)
/// router — runs one batch through it and prints each MoE layer's routing.
@main
struct MoETour: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "moe-tour",
    abstract: "Run a batch through a hybrid dense/MoE stack and show how each router spread the tokens.")

  @OptionGroup var threading: ThreadsOption

  @Option(help: "Tokens in the batch.")
  var tokens = 512

  @Option(help: "Model width d.")
  var dimensions = 64

  @Option(help: "Routed experts per MoE layer (a multiple of 4, for DeepSeek-V3's 4 groups).")
  var experts = 8

  @Option(name: .customLong("top-k"), help: "Experts per token for the top-k routers.")
  var topK = 2

  @Option(help: "Exponent of the Zipf law behind the collapsed router (0 is uniform).")
  var zipf = 1.2

  @Option(help: "Seed for weights, inputs and every random draw.")
  var seed: UInt64 = 42

  func validate() throws {
    try OptionLimits.check("--tokens", tokens, in: 1...1 << 20)
    try OptionLimits.check("--dimensions", dimensions, in: 1...8192)
    guard (8...1024).contains(experts), experts % 8 == 0 else {
      throw ValidationError(
        "--experts must be a multiple of 8 in 8...1024 (DeepSeek-V3 layer: 4 groups, each scored by its top two), "
          + "got \(experts)")
    }
    guard topK >= 1, topK <= experts / 2 else {
      throw ValidationError(
        "--top-k must be in 1...\(experts / 2) (2 of 4 groups hold \(experts / 2) experts), got \(topK)")
    }
    guard zipf >= 0, zipf.isFinite else {
      throw ValidationError("--zipf must be finite and non-negative, got \(zipf)")
    }
    // Every layer's experts (d → 2d → d) and the stack's activations per layer.
    let (t, d, e) = (Double(tokens), Double(dimensions), Double(experts))
    try OptionLimits.checkMemory(
      4 * (8 * (6 * d * d * e) + 8 * (t * d * 8 + t * e)),
      for: "--tokens \(tokens), --dimensions \(dimensions), --experts \(experts)")
  }

  func run() throws {
    threading.apply()
    var generator = Xoshiro256StarStar(seed: seed)
    let hidden = 2 * dimensions
    let names = [
      "Mixtral: softmax top-\(topK), renormalised",
      "DeepSeek-V3: sigmoid, 4 groups (best 2), shared expert",
      "expert choice, capacity factor \(topK)",
      "Qwen2-MoE: softmax top-\(topK), gated shared expert, capacity factor 1.0",
      "collapsed: Zipf(\(zipf)) top-\(topK), capacity factor 1.25",
    ]
    let stack = BlockStack<Float>(
      layout: .firstDense(layers: 2 + names.count, firstDenseLayers: 2), dimensions: dimensions,
      denseHiddenDimensions: 4 * dimensions, using: &generator
    ) { layer, g in
      makeLayer(index: layer - 2, hidden: hidden, using: &g)
    }
    let x = Matrix<Float>.normal(rows: tokens, columns: dimensions, using: &generator)
    var context = RoutingContext(seed: seed)
    let result = stack.forward(x, context: &context)

    print(
      "Stack: \(stack.blocks.count) layers (first 2 dense), d = \(dimensions), \(experts) experts of width \(hidden), batch of \(tokens) tokens, seed \(seed)\n"
    )
    for (index, layer) in result.layers.enumerated() {
      guard let layer else {
        print("Layer \(index): dense feed-forward (every token, width \(4 * dimensions))\n")
        continue
      }
      print("Layer \(index): \(names[index - 2])")
      print(describe(layer.stats))
    }
  }

  /// The MoE layer at `index` among the MoE layers.
  func makeLayer(index: Int, hidden: Int, using g: inout Xoshiro256StarStar) -> MoELayer<Float> {
    let d = dimensions
    let router: any Router<Float>
    var shared: Int?
    var gatedShared = false
    var capacityFactor: Double?
    switch index {
    case 0:
      router = TopKSoftmaxRouter(dimensions: d, expertCount: experts, k: topK, using: &g)
    case 1:
      router = GroupLimitedRouter(
        gate: Linear(inputDimensions: d, outputDimensions: experts, bias: false, using: &g), k: topK,
        groupCount: 4, topKGroup: 2, routedScalingFactor: 2.5)
      shared = hidden
    case 2:
      router = ExpertChoiceRouter(
        dimensions: d, expertCount: experts, capacityFactor: Double(topK), using: &g)
    case 3:
      router = TopKSoftmaxRouter(
        dimensions: d, expertCount: experts, k: topK, normalizeTopK: false, using: &g)
      shared = 2 * hidden
      gatedShared = true
      capacityFactor = 1
    default:
      router = SyntheticRouter(expertCount: experts, k: topK, distribution: .zipf(exponent: zipf))
      capacityFactor = 1.25
    }
    return MoELayer(
      dimensions: d, hiddenDimensions: hidden, router: router, sharedHiddenDimensions: shared,
      gatedSharedExpert: gatedShared, capacityFactor: capacityFactor, using: &g)
  }

  /// A table with one row and one bar per expert, and a summary line.
  func describe(_ stats: RoutingStats<Float>) -> String {
    var table = Table(
      header: ["expert", "assignments", "share", "mean router p", "load"],
      alignments: [.right, .right, .right, .right, .left])
    let most = Double(stats.tokensPerExpert.max() ?? 0)
    for (e, count) in stats.tokensPerExpert.enumerated() {
      table.append([
        "\(e)", "\(count)", Format.fixed(100 * stats.loadFractions[e], 1) + " %",
        Format.fixed(Double(stats.meanProbability[e]), 3),
        Format.bar(Double(count), maximum: most, width: 30),
      ])
    }
    let counts = stats.tokensPerExpert.map(Double.init)
    let mean = counts.reduce(0, +) / Double(counts.count)
    let spread = (counts.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(counts.count)).squareRoot()
    var summary = "load: coefficient of variation \(Format.fixed(mean > 0 ? spread / mean : 0, 2))"
    summary += ", max/mean \(Format.fixed(mean > 0 ? most / mean : 0, 2))"
    summary += "; dropped assignments \(stats.droppedAssignments)"
    if let capacity = stats.capacity { summary += " (capacity \(capacity) per expert)" }
    summary += "; tokens without a routed expert \(stats.tokensWithoutExperts)"
    return table.markdown + summary + "\n"
  }
}
