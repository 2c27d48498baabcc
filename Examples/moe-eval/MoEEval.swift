import ArgumentParser
import CostModel
import Evaluation
import Foundation
import Linalg
import ModelIO
import Report
import _ExampleSupport

/// The quality of a model on a text: perplexity and bits per byte, and against a reference
/// model (the same model at more bits, say) the KL divergence of its next-token distributions,
/// their top-1 agreement and the change in perplexity.
@main
struct MoEEval: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "moe-eval",
    abstract: "Perplexity, bits per byte and KL divergence against a reference, on a text file.",
    discussion: """
      The text is tokenized with the model's tokenizer and scored in windows of --context tokens \
      starting every --stride tokens, each scoring only tokens no earlier window scored. With \
      --reference (a folder or GGUF file; --reference-weight-format holds it, e.g. float32 against \
      a q4_K --weight-format), both models score the same windows and the report adds the \
      reference's perplexity, the mean and 99th-percentile KL(P_reference ‖ P_model) in nats and \
      the share of positions whose most likely token is the reference's.
      """)

  @OptionGroup var threading: ThreadsOption
  @OptionGroup var calibration: CalibrationOptions

  @Option(help: "The model: a Hugging Face folder or a GGUF file, with a tokenizer.")
  var model: String

  @Option(help: "How the model's product weights are held (as moe-generate's --weight-format).")
  var weightFormat: HuggingFaceCheckpoint.LoadedWeightFormat = .stored

  @Option(help: "A UTF-8 text file to score.")
  var text: String

  @Option(
    help: "Tokens a window feeds the model (2...65536; default 512, or the model's positions if fewer).")
  var context: Int?

  @Option(help: "Tokens between window starts (1...--context; default half the context).")
  var stride: Int?

  @Option(help: "Score at most this many tokens of the text (2...100000000).")
  var maxTokens: Int?

  @Option(help: "A reference model to compare against (folder or GGUF file).")
  var reference: String?

  @Option(help: "How the reference's product weights are held.")
  var referenceWeightFormat: HuggingFaceCheckpoint.LoadedWeightFormat = .stored

  @Option(help: "Output: text or json.")
  var format: OutputFormat = .text

  enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

  func validate() throws {
    if let context { try OptionLimits.check("--context", context, in: 2...65536) }
    if let stride { try OptionLimits.check("--stride", stride, in: 1...(context ?? 65536)) }
    if let maxTokens { try OptionLimits.check("--max-tokens", maxTokens, in: 2...100_000_000) }
  }

  func run() throws {
    threading.apply()
    BLAS.warnIfGenericKernels()
    let data: Data
    do {
      data = try InputFile.contents(of: text, limit: 1 << 30)
    } catch {
      throw ValidationError("--text \(text): \(error)")
    }
    guard let content = String(validating: data, as: UTF8.self) else {
      throw ValidationError("--text \(text) is not UTF-8")
    }
    let (importance, calibrated) = try calibration.importance(
      model: model, weightFormat: weightFormat, context: context)
    let loaded = try HuggingFaceModel(folder: model, weightFormat: weightFormat, importance: importance)
    guard let tokenizer = loaded.tokenizer else {
      throw ValidationError("--model \(model) has no tokenizer to turn --text into tokens")
    }
    let positions = loaded.positions
    if let context, context > positions {
      throw ValidationError("--context \(context) is longer than --model \(model)'s \(positions) positions")
    }
    let context = context ?? Swift.max(2, Swift.min(512, positions))
    if let stride, stride > context {
      throw ValidationError("--stride must be in 1...\(context), the context, got \(stride)")
    }
    var tokens = try tokenizer.encode(content)
    if let maxTokens { tokens = Array(tokens.prefix(maxTokens)) }
    guard tokens.count >= 2 else { throw ValidationError("--text \(text) has fewer than 2 tokens") }
    let referenceModel = try reference.map {
      try HuggingFaceModel(folder: $0, weightFormat: referenceWeightFormat)
    }
    if let referenceModel, let path = reference {
      // A reference without a tokenizer is compared when its vocabulary is the model's.
      let theirs = try referenceModel.tokenizer.map { try $0.encode(content) }
      guard theirs.map({ Array($0.prefix(tokens.count)) == tokens }) ?? true,
        referenceModel.model.vocabulary == loaded.model.vocabulary
      else {
        throw ValidationError("--reference \(path) has another tokenizer or vocabulary than --model \(model)")
      }
    }
    let windows = ScoringWindows(
      count: tokens.count, context: context, stride: stride ?? Swift.max(1, context / 2))
    var (ours, theirs, divergence) = (Perplexity(), Perplexity(), Divergence())
    var progress = ProgressBar(total: windows.count, stage: "moe-eval")
    var seconds = 0.0
    for window in windows {
      let input = Array(tokens[window.tokens])
      var logits = Matrix<Float>(rows: 0, columns: 0)
      seconds += Stopwatch.seconds { logits = loaded.model.logits(input, layout: .single(input.count)) }
      let referenceLogits = referenceModel?.model.logits(input, layout: .single(input.count))
      for target in window.targets {
        let row = target - 1 - window.tokens.lowerBound
        ours.add(logits: logits[row: row], target: tokens[target])
        if let referenceLogits {
          theirs.add(logits: referenceLogits[row: row], target: tokens[target])
          divergence.add(reference: referenceLogits[row: row], model: logits[row: row])
        }
      }
      progress.advance(label: "\(ours.tokens) tokens")
    }
    progress.finish()
    // Bits per byte need every token scored, which the windows guarantee up to --max-tokens.
    let bytes = maxTokens == nil ? data.count : try tokenizer.bytes(of: tokens).count
    var rows: [(String, String)] = [
      ("model", model), ("weights", weightFormat.rawValue),
      ("bits per weight", loaded.compactBitsPerWeight.map { Format.fixed($0, 2) } ?? "32 (float32)"),
      ("calibration", calibrated?.description ?? "none"), ("tokens scored", "\(ours.tokens)"),
      ("windows", "\(windows.count) of \(context), stride \(stride ?? Swift.max(1, context / 2))"),
      ("perplexity", Format.fixed(ours.value, 4)),
      ("bits per byte", Format.fixed(ours.bitsPerByte(bytes: bytes), 4)),
      (
        "tokens/s",
        Format.fixed(Double(windows.reduce(0) { $0 + $1.tokens.count }) / Swift.max(seconds, 1e-9), 1)
      ),
    ]
    if referenceModel != nil {
      rows += [
        ("reference perplexity", Format.fixed(theirs.value, 4)),
        ("Δ perplexity", Format.fixed(ours.value - theirs.value, 4)),
        ("KL divergence mean", Format.fixed(divergence.mean, 6)),
        ("KL divergence p99", Format.fixed(divergence.quantile(0.99), 6)),
        ("top-1 agreement", Format.fixed(divergence.topOneAgreement * 100, 2) + " %"),
      ]
    }
    if format == .json {
      print("{" + rows.map { "\(JSON.quoted($0.0)): \(JSON.quoted($0.1))" }.joined(separator: ", ") + "}")
    } else {
      for (key, value) in rows { print("\(key.padding(toLength: 22, withPad: " ", startingAt: 0)) \(value)") }
    }
  }
}
