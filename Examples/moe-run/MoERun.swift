import ArgumentParser
import Foundation
import Linalg
import MoE
import ModelIO
import Report
import _ExampleSupport

/// Runs one layer's feed-forward block of a Hugging Face checkpoint on an input array, so
/// that the result can be compared with `transformers` directly.
@main
struct MoERun: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "moe-run",
    abstract:
      "Run layer N's feed-forward block (dense or MoE) of a Hugging Face checkpoint or GGUF file on a .npy input.",
    discussion: """
      The input is a float32 (or float64) tokens × hidden_size array; the output is exactly \
      what model.layers[N].mlp (Mixtral: block_sparse_moe) returns for it in transformers — no \
      norm before, no residual after — written as float32. Supported model types: \
      \(ModelFamilyRegistry.modelTypes.joined(separator: ", ")). An input or weights \
      holding NaN or ±∞ are refused with the tokens they affect (transformers would return NaN \
      there); the outputs are written only when the whole run succeeded, and never over an input.
      """)

  @OptionGroup var threading: ThreadsOption

  @Option(help: "The checkpoint's config.json (not for a GGUF file, whose metadata say it).")
  var config: String?

  @Option(
    help:
      "model.safetensors, model.safetensors.index.json for a sharded checkpoint, or a llama.cpp model.gguf.")
  var weights: String

  @Option(help: "The layer whose feed-forward block to run.")
  var layer: Int

  @Option(help: "Input .npy: tokens × hidden_size, float32 or float64.")
  var input: String

  @Option(help: "Output .npy (float32), written atomically.")
  var output: String

  @Option(help: "Also write each token's chosen experts and combine weights to this JSON file.")
  var routing: String?

  @Option(
    name: .customLong("timed-repetitions"),
    help:
      "After the run, time the block this many more times (0...1000) and print {\"seconds\": [...]} (peer-compare)."
  )
  var timedRepetitions = 0

  func validate() throws {
    guard layer >= 0 else { throw ValidationError("--layer must be non-negative, got \(layer)") }
    try OptionLimits.check("--timed-repetitions", timedRepetitions, in: 0...1000)
    switch (isGGUF, config) {
    case (true, let config?):
      throw ValidationError("--config \(config) is not for a GGUF file: \(weights)'s metadata are its config")
    case (false, nil):
      throw ValidationError("--config is required for \(weights) (only a .gguf file needs none)")
    default: break
    }
    _ = try outputs()
  }

  /// The run's outputs, checked: none is an input, a folder or in a missing folder, and
  /// they differ.
  func outputs() throws -> OutputBatch {
    try OutputBatch(
      outputs: [output] + (routing.map { [$0] } ?? []),
      inputs: [weights, input] + (config.map { [$0] } ?? []))
  }

  /// Whether `--weights` is a GGUF file.
  var isGGUF: Bool { weights.lowercased().hasSuffix(".gguf") }

  func run() throws {
    threading.apply()
    let batch = try outputs()
    let checkpoint =
      try config.map { try HuggingFaceCheckpoint(configFile: $0, weightsFile: weights) }
      ?? HuggingFaceCheckpoint(gguf: try GGUFFile(contentsOfFile: weights))
    let block = try checkpoint.feedForward(layer: layer, as: Float.self)
    let x: Matrix<Float>
    do {
      x = try NpyArray(contentsOfFile: input).matrix(as: Float.self)
    } catch {
      throw ValidationError("--input \(input): \(error)")
    }
    guard x.columns == checkpoint.width else {
      throw ValidationError("--input has \(x.columns) columns, but hidden_size is \(checkpoint.width)")
    }
    let bad = x.nonFiniteRows()
    guard bad.isEmpty else {
      throw ValidationError("--input \(input) holds NaN or ±∞ in \(bad.count) row(s): \(Self.list(bad))")
    }
    let y: Matrix<Float>
    var decision: RoutingDecision<Float>?
    do {
      switch block {
      case .dense(let network):
        y = network(x)
        let wrong = y.nonFiniteRows()
        if !wrong.isEmpty { throw MoEError.nonFiniteOutput(tokens: wrong) }
      case .moe(let moe):
        var context = RoutingContext()
        var workspace = MoEWorkspace<Float>()
        let result = try moe.checkedForward(x, context: &context, workspace: &workspace)
        y = result.output
        decision = result.decision
      }
    } catch let error as MoEError {
      throw ValidationError("layer \(layer) of \(weights): \(error)")
    }
    try batch.stage(Data(NpyArray(y).encoded), to: output)
    if let routing {
      try batch.stage(
        Data(Self.routingJSON(layer: layer, decision: decision, tokens: x.rows).utf8), to: routing)
    }
    try batch.commit()
    guard timedRepetitions > 0 else { return }
    var seconds: [Double] = []
    var context = RoutingContext()
    var workspace = MoEWorkspace<Float>()
    for _ in 0..<timedRepetitions {
      seconds.append(
        Stopwatch.seconds {
          switch block {
          case .dense(let network): _ = network(x)
          case .moe(let moe): _ = moe.forward(x, context: &context, workspace: &workspace)
          }
        })
    }
    print("{\"seconds\": [\(seconds.map { "\($0)" }.joined(separator: ", "))]}")
  }

  /// The first eight of `rows`, comma-separated.
  static func list(_ rows: [Int]) -> String {
    rows.prefix(8).map(String.init).joined(separator: ", ") + (rows.count > 8 ? ", …" : "")
  }

  /// `{"layer": N, "moe": true, "tokens": [{"experts": […], "weights": […]}, …]}`; a dense
  /// layer has `"moe": false` and no tokens.
  static func routingJSON(layer: Int, decision: RoutingDecision<Float>?, tokens: Int) -> String {
    guard let decision else { return "{\"layer\": \(layer), \"moe\": false, \"tokens\": []}\n" }
    var experts = [[Int]](repeating: [], count: tokens)
    var weights = [[Float]](repeating: [], count: tokens)
    for a in decision.assignments {
      experts[a.token].append(a.expert)
      weights[a.token].append(a.weight)
    }
    let rows = (0..<tokens).map { t in
      "{\"experts\": [\(experts[t].map(String.init).joined(separator: ", "))], \"weights\": [\(weights[t].map { "\($0)" }.joined(separator: ", "))]}"
    }
    return "{\"layer\": \(layer), \"moe\": true, \"tokens\": [\n  " + rows.joined(separator: ",\n  ")
      + "\n]}\n"
  }
}
