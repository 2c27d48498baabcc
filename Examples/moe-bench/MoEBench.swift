import ArgumentParser
import Linalg
import MoE
import Report
import _ExampleSupport

/// Times one MoE layer's forward pass, its training forward pass and its backward pass in
/// the same run, and prints the backward/forward ratio (goal: at most 2.5).
@main
struct MoEBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "moe-bench",
    abstract: "Forward and backward time of one MoE layer, as a ratio measured in the same run.")

  @OptionGroup var threading: ThreadsOption

  @Option(help: "Tokens T (1...1048576; default 2048, 256 with --quick).")
  var tokens: Int?

  @Option(help: "Model width d (1...65536; default 1024, 256 with --quick).")
  var dimensions: Int?

  @Option(help: "Expert hidden width (1...262144; default 2816, 704 with --quick).")
  var hidden: Int?

  @Option(help: "Routed experts E (1...4096).")
  var experts = 8

  @Option(name: .customLong("top-k"), help: "Experts per token.")
  var topK = 2

  @Option(help: "Timed repetitions (1...1000); the median is reported.")
  var repetitions = 3

  @Flag(
    help: "A small layer (T = 256, d = 256, hidden 704; sizes given explicitly are honoured) for a smoke run."
  )
  var quick = false

  /// Tokens, width and hidden width: as given, or the mode's defaults.
  var sizes: (tokens: Int, dimensions: Int, hidden: Int) {
    (tokens ?? (quick ? 256 : 2048), dimensions ?? (quick ? 256 : 1024), hidden ?? (quick ? 704 : 2816))
  }

  func validate() throws {
    let (t, d, h) = sizes
    try OptionLimits.check("--tokens", t, in: 1...1 << 20)
    try OptionLimits.check("--dimensions", d, in: 1...1 << 16)
    try OptionLimits.check("--hidden", h, in: 1...1 << 18)
    try OptionLimits.check("--experts", experts, in: 1...4096)
    try OptionLimits.check("--top-k", topK, in: 1...experts)
    try OptionLimits.check("--repetitions", repetitions, in: 1...1000)
    // Weights and their gradients; the training pass's kept activations (each assignment's
    // gate, up and product rows, its input and output rows) and the layer's input and output.
    let (td, dd, hd, ed, kd) = (Double(t), Double(d), Double(h), Double(experts), Double(topK))
    try OptionLimits.checkMemory(
      4 * (2 * 3 * dd * hd * ed + 2 * td * kd * (3 * hd + 2 * dd) + 4 * td * dd + td * ed),
      for: "--tokens \(t), --dimensions \(d), --hidden \(h), --experts \(experts)")
  }

  func run() throws {
    threading.apply()
    BLAS.warnIfGenericKernels()
    let (t, d, h) = sizes
    var g = Xoshiro256StarStar(seed: 1)
    var layer = MoELayer<Float>(
      dimensions: d, hiddenDimensions: h,
      router: TopKSoftmaxRouter(dimensions: d, expertCount: experts, k: topK, using: &g), using: &g)
    let x = Matrix<Float>.normal(rows: t, columns: d, using: &g)
    let dy = Matrix<Float>.normal(rows: t, columns: d, using: &g)
    var context = RoutingContext()
    var workspace = MoEWorkspace<Float>()
    let forward = Stopwatch.median(repetitions: repetitions) {
      _ = layer.forward(x, context: &context, workspace: &workspace)
    }
    let training = Stopwatch.median(repetitions: repetitions) {
      _ = layer.forwardForTraining(x, context: &context)
    }
    let (_, cache) = layer.forwardForTraining(x, context: &context)
    let backward = Stopwatch.median(repetitions: repetitions) {
      layer.zeroGradients()
      _ = layer.backward(dy, cache: cache)
    }
    let flops = 2.0 * Double(t * topK) * Double(3 * d * h)
    print(
      "MoE layer: T = \(t), d = \(d), expert hidden \(h), \(experts) experts, top-\(topK), Float, \(BLAS.threadCount) BLAS threads\n"
    )
    var table = Table(
      header: ["pass", "ms", "GFLOP/s", "relative to forward"], alignments: [.left, .right, .right, .right])
    table.append([
      "forward (inference, reused workspace)", Format.fixed(forward * 1000, 1),
      Format.fixed(flops / forward / 1e9, 1), "1.00",
    ])
    table.append([
      "forward for training (keeps a cache)", Format.fixed(training * 1000, 1),
      Format.fixed(flops / training / 1e9, 1), Format.fixed(training / forward, 2),
    ])
    table.append([
      "backward", Format.fixed(backward * 1000, 1), Format.fixed(2 * flops / backward / 1e9, 1),
      Format.fixed(backward / forward, 2),
    ])
    print(table.markdown)
    // The goal is set for the full size; a --quick run shows the ratio unjudged.
    print(
      "backward/forward = \(Format.fixed(backward / forward, 2))"
        + (quick ? "" : " (goal ≤ 2.5; the backward pass does twice the forward's matrix work)"))
  }
}
