import ArgumentParser
import Linalg
import MoE
import Report

/// Times one MoE layer's forward pass, its training forward pass and its backward pass in
/// the same run, and prints the backward/forward ratio (goal: at most 2.5).
@main
struct MoEBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "moe-bench",
    abstract: "Forward and backward time of one MoE layer, as a ratio measured in the same run.")

  @Option(help: "Tokens T.")
  var tokens = 2048

  @Option(help: "Model width d.")
  var dimensions = 1024

  @Option(help: "Expert hidden width.")
  var hidden = 2816

  @Option(help: "Routed experts E.")
  var experts = 8

  @Option(name: .customLong("top-k"), help: "Experts per token.")
  var topK = 2

  @Option(help: "Timed repetitions; the median is reported.")
  var repetitions = 3

  @Flag(help: "A small layer (T = 256, d = 256, hidden 704) for a smoke run.")
  var quick = false

  func validate() throws {
    guard tokens >= 1, dimensions >= 1, hidden >= 1, repetitions >= 1 else {
      throw ValidationError("--tokens, --dimensions, --hidden and --repetitions must be at least 1")
    }
    guard experts >= 1, topK >= 1, topK <= experts else {
      throw ValidationError("--top-k must be in 1...--experts (\(experts)), got \(topK)")
    }
  }

  func run() throws {
    let (t, d, h) = quick ? (256, 256, 704) : (tokens, dimensions, hidden)
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
    print(
      "backward/forward = \(Format.fixed(backward / forward, 2)) (goal ≤ 2.5; the backward pass does twice the forward's matrix work)"
    )
  }
}
