import ArgumentParser
import Evaluation
import Foundation
import ModelIO
import Report

/// Importance-weighted quantization as the examples that load whole models offer it: a
/// calibration text run through the model (held as bf16) before it is quantized, each
/// expert's importance measured over the tokens routed to it (`ImportanceCalibration`).
public struct CalibrationOptions: ParsableArguments {
  /// The calibration text's path, if any.
  @Option(
    help: "A UTF-8 text to measure importance on before quantizing (q4, q4_K, q5_K, q6_K, mxfp4, q4_K_M).")
  public var calibrationText: String?

  /// Tokens of it to run.
  @Option(help: "Calibrate on at most this many tokens of the text (16...10000000).")
  public var calibrationTokens = 16384

  /// The pseudo-count of an expert's unrouted statistics.
  @Option(
    help:
      "Tokens an expert's activations on a sample of every token count as beside its routed ones (0...1000000; 0: routed tokens only, as llama.cpp's importance matrix)."
  )
  public var priorTokens = 16

  /// The option group as ArgumentParser makes it.
  public init() {}

  /// Checks the ranges.
  public func validate() throws {
    try OptionLimits.check("--calibration-tokens", calibrationTokens, in: 16...10_000_000)
    try OptionLimits.check("--prior-tokens", priorTokens, in: 0...1_000_000)
  }

  /// What a calibration saw, for a report.
  public struct Summary: Sendable {
    /// Tokens run.
    public var tokens: Int
    /// Routed experts over all layers.
    public var experts: Int
    /// Those routed no calibration token.
    public var unroutedExperts: Int
    /// The fewest, median and most tokens an expert was routed.
    public var fewest: Int, median: Int, most: Int

    /// One line: `8192 tokens; 512 experts saw 3…1024 tokens (median 120), 2 saw none`.
    public var description: String {
      "\(tokens) tokens; \(experts) experts saw \(fewest)…\(most) (median \(median)), \(unroutedExperts) saw none"
    }
  }

  /// The importance of the model at `path`'s products for loading it as `weightFormat`
  /// (empty without `--calibration-text`), with what the calibration saw, run in windows of
  /// `context` tokens (default 512, or the model's positions if fewer); per-layer token
  /// counts go to standard error.
  public func importance(
    model path: String, weightFormat: HuggingFaceCheckpoint.LoadedWeightFormat, context: Int?
  )
    throws -> (importance: [String: [Float]], summary: Summary?)
  {
    guard let calibrationText else { return ([:], nil) }
    guard weightFormat.weighsImportance else {
      throw ValidationError(
        "--calibration-text weights the fits of q4, q4_K, q5_K, q6_K, mxfp4 and q4_K_M; --weight-format \(weightFormat.rawValue) rounds without it"
      )
    }
    let text = try TextFile.read(calibrationText, option: "--calibration-text").text
    let model = try HuggingFaceModel(folder: path, weightFormat: .bf16)
    guard let tokenizer = model.tokenizer else {
      throw ValidationError("--model \(path) has no tokenizer to turn --calibration-text into tokens")
    }
    let tokens = Array(try tokenizer.encode(text).prefix(calibrationTokens))
    guard tokens.count >= 16 else {
      throw ValidationError(
        "--calibration-text \(calibrationText) has \(tokens.count) tokens; at least 16 are needed")
    }
    let context = Swift.min(context ?? 512, model.positions)
    let calibration = ImportanceCalibration(names: model.productNames, priorTokens: priorTokens)
    var progress = ProgressBar(total: (tokens.count + context - 1) / context, stage: "calibration")
    calibration.run(model.model, tokens: tokens, context: context) { done in
      progress.advance(label: "\(done) tokens")
    }
    progress.finish()
    let perLayer = calibration.tokensPerExpert
    var all: [Int] = []
    for layer in perLayer.keys.sorted() {
      let counts = perLayer[layer]!.values.sorted()
      all += counts
      FileHandle.standardError.write(
        Data(
          "layer \(layer): \(counts.count) experts saw \(counts.first!)…\(counts.last!) calibration tokens (median \(counts[counts.count / 2])), \(counts.count { $0 == 0 }) saw none\n"
            .utf8))
    }
    all.sort()
    let summary =
      all.isEmpty
      ? nil
      : Summary(
        tokens: tokens.count, experts: all.count, unroutedExperts: all.count { $0 == 0 }, fewest: all.first!,
        median: all[all.count / 2], most: all.last!)
    return (calibration.importance, summary)
  }
}
