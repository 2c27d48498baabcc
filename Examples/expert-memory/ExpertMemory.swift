import ArgumentParser
import Foundation
import Linalg
import MoE
import ModelIO
import Report
import _ExampleSupport

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

  @OptionGroup var threading: ThreadsOption

  @Option(help: "MoE layers (default 4; 2 with --quick).")
  var layers: Int?

  @Option(help: "Routed experts per layer (default 32; 8 with --quick).")
  var experts: Int?

  @Option(name: .customLong("top-k"), help: "Experts per token.")
  var topK = 2

  @Option(help: "Model width d (experts are d → 2d → d SwiGLU networks; default 256, 32 with --quick).")
  var dimensions: Int?

  @Option(
    help: "Tokens decoded through the cache, and in each synthetic trace (default 512; 64 with --quick).")
  var tokens: Int?

  @Option(
    name: .customLong("weight-format"),
    help:
      "How the served experts are stored and held: \(ExpertFormat.allCases.map(\.rawValue).joined(separator: ", "))."
  )
  var weightFormat = ExpertFormat.float32

  @Option(help: "Zipf exponent of the skewed synthetic trace.")
  var skew = 1.0

  @Option(help: "How often the prefetcher guesses an expert right in the synthetic traces (0...1).")
  var predictionAccuracy = 0.8

  @Option(name: .customLong("output-dir"), help: "Folder for the hit-rate chart (SVG).")
  var outputDirectory = "expert-memory-output"

  @Flag(help: "A small model and short traces (sizes given explicitly are honoured): a smoke run.")
  var quick = false

  /// How the served experts are stored and held.
  enum ExpertFormat: String, ExpressibleByArgument, CaseIterable {
    case float32, bf16, q8, q4

    /// The compact format, `nil` for float32.
    var compact: WeightMatrix.Format? { WeightMatrix.Format(rawValue: rawValue) }
  }

  /// Layers, experts, width and tokens: as given, or the defaults of the mode.
  var sizes: (layers: Int, experts: Int, dimensions: Int, tokens: Int) {
    (
      layers ?? (quick ? 2 : 4), experts ?? (quick ? 8 : 32), dimensions ?? (quick ? 32 : 256),
      tokens ?? (quick ? 64 : 512)
    )
  }

  func validate() throws {
    let (l, e, d, t) = sizes
    guard (1...64).contains(l), (2...1024).contains(e), (2...8192).contains(d), (1...100_000).contains(t)
    else {
      throw ValidationError(
        "--layers must be in 1...64, --experts in 2...1024, --dimensions in 2...8192, --tokens in 1...100000")
    }
    guard topK >= 1, topK <= e else {
      throw ValidationError("--top-k must be in 1...\(e), got \(topK)")
    }
    // The model is held twice (in memory, and in the file the cache maps).
    let bytes = 2 * l * e * 3 * 2 * d * d * MemoryLayout<Float>.stride
    guard Double(bytes) <= 0.5 * Double(ProcessInfo.processInfo.physicalMemory) else {
      throw ValidationError(
        "--layers \(l) × --experts \(e) of width \(d) need \(Format.bytes(bytes)), more than half "
          + "this machine's \(Format.bytes(Double(ProcessInfo.processInfo.physicalMemory)))")
    }
    guard skew >= 0, skew.isFinite else {
      throw ValidationError("--skew must be finite and non-negative, got \(skew)")
    }
    guard (0...1).contains(predictionAccuracy) else {
      throw ValidationError("--prediction-accuracy must be in 0...1, got \(predictionAccuracy)")
    }
    try OutputPath.checkFolder(outputDirectory)
  }

  func run() throws {
    threading.apply()
    let (l, e, d, t) = sizes
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-expert-memory-\(UInt64.random(in: 0..<1 << 40))")
    try OutputPath.makeFolder(folder.path)
    defer { try? FileManager.default.removeItem(at: folder) }
    // Phases on standard error: compression, serving from the file, the cache replays.
    var progress = ProgressBar(total: 3, stage: "expert-memory")
    let compression = try CompressionTable(
      dimensions: quick ? 16 : 32, experts: quick ? 8 : 16, topK: topK, steps: quick ? 20 : 1000
    ).report()
    progress.advance(label: "compression measured; serving experts from a file")
    print(compression)
    let served = try Serving(
      layers: l, experts: e, topK: topK, dimensions: d, tokens: t, weightFormat: weightFormat.compact,
      folder: folder.path
    ).run()
    progress.advance(label: "served; replaying the traces")
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
    let table = replays.table()
    progress.advance(label: "done")
    progress.finish()
    print(table)
    try OutputPath.makeFolder(outputDirectory)
    let path = "\(outputDirectory)/hit-rate.svg"
    try AtomicFile.write(replays.chart(trace: traces[1]).svg, to: path)
    print("Wrote \(path)")
  }
}
