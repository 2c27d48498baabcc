import ArgumentParser
import Foundation
import Linalg
import MoE
import ModelIO
import Report

/// The memory of MoE experts: a trained layer pruned, merged and compressed (bytes saved
/// against output change and task loss); then a random model's experts written to a
/// safetensors file and served token by token through an `ExpertCache` (measuring the
/// load bandwidth), and routing traces — the one served, and synthetic ones with a chosen
/// skew — replayed for every policy, budget and prefetch setting.
@main
struct ExpertMemory: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "expert-memory",
    abstract: "Expert pruning and compression; hit rate, bytes loaded and added latency of an expert cache.")

  @Option(help: "MoE layers.")
  var layers = 4

  @Option(help: "Routed experts per layer.")
  var experts = 32

  @Option(name: .customLong("top-k"), help: "Experts per token.")
  var topK = 2

  @Option(help: "Model width d (experts are d → 2d → d SwiGLU networks).")
  var dimensions = 256

  @Option(help: "Tokens decoded through the cache, and in each synthetic trace.")
  var tokens = 512

  @Option(help: "Zipf exponent of the skewed synthetic trace.")
  var skew = 1.0

  @Option(help: "How often the prefetcher guesses an expert right in the synthetic traces (0...1).")
  var predictionAccuracy = 0.8

  @Option(name: .customLong("output-dir"), help: "Folder for the hit-rate chart (SVG).")
  var outputDirectory = "expert-memory-output"

  @Flag(help: "A small model and short traces: a smoke run.")
  var quick = false

  func validate() throws {
    guard layers >= 1, experts >= 2, dimensions >= 2, tokens >= 1 else {
      throw ValidationError("--layers, --tokens must be at least 1, --experts and --dimensions at least 2")
    }
    guard topK >= 1, topK <= experts else {
      throw ValidationError("--top-k must be in 1...\(experts), got \(topK)")
    }
    guard skew >= 0, skew.isFinite else {
      throw ValidationError("--skew must be finite and non-negative, got \(skew)")
    }
    guard (0...1).contains(predictionAccuracy) else {
      throw ValidationError("--prediction-accuracy must be in 0...1, got \(predictionAccuracy)")
    }
  }

  func run() throws {
    let (l, e, d, t) = quick ? (2, 8, 32, 64) : (layers, experts, dimensions, tokens)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-expert-memory-\(UInt64.random(in: 0..<1 << 40))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    print(
      try CompressionTable(
        dimensions: quick ? 16 : 32, experts: quick ? 8 : 16, topK: topK, steps: quick ? 20 : 1000
      ).report())
    let served = try Serving(layers: l, experts: e, topK: topK, dimensions: d, tokens: t, folder: folder.path)
      .run()
    print(served.summary)

    let traces: [(String, RoutingTrace)] = [
      ("served (random router)", served.trace),
      (
        "Zipf \(Format.fixed(skew, 1))",
        .synthetic(
          tokens: t, layers: l, experts: e, k: topK, skew: skew, predictionAccuracy: predictionAccuracy,
          seed: 1)
      ),
      (
        "uniform",
        .synthetic(
          tokens: t, layers: l, experts: e, k: topK, skew: 0, predictionAccuracy: predictionAccuracy, seed: 2)
      ),
    ]
    let replays = CacheReplays(traces: traces, expertBytes: served.expertBytes, bandwidth: served.bandwidth)
    print(replays.table())
    try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
    let path = "\(outputDirectory)/hit-rate.svg"
    try AtomicFile.write(replays.chart(trace: traces[1]).svg, to: path)
    print("Wrote \(path)")
  }
}
