import ArgumentParser
import Evaluation
import Foundation
import Linalg
import ModelIO
import Report
import _ExampleSupport

/// The quality of a model on a text: perplexity and bits per byte; against a reference model
/// (live, or its logits saved by an earlier run) the KL divergence of its next-token
/// distributions, their top-1 agreement, the change in perplexity and the share of routing
/// choices that changed; and how differently two texts load the experts.
@main
struct MoEEval: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "moe-eval",
    abstract: "Perplexity, KL divergence against a reference and routing shift, on a text file.",
    discussion: """
      The text is tokenized with the model's tokenizer and scored in windows of --context tokens \
      starting every --stride tokens, each scoring only tokens no earlier window scored. With \
      --reference (a folder or GGUF file; --reference-weight-format holds it, e.g. float32 against \
      a q4_K --weight-format) or --reference-logits (a file --save-reference wrote), the report adds \
      the reference's perplexity, the mean and 99th-percentile KL(P_reference ‖ P_model) in nats, \
      the share of positions whose most likely token is the reference's, and per MoE layer the \
      share of the reference's expert choices the model changed. A saved reference keeps each \
      position's --reference-top tokens and the rest's mass, so its divergence is over those \
      outcomes (exact when --reference-top is the vocabulary). --compare-text adds, per MoE layer, \
      the Jensen-Shannon divergence (bits) between the expert loads of the two texts.
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

  @Option(help: "Save this model's distributions and routing on the text as a reference file.")
  var saveReference: String?

  @Option(help: "A reference file --save-reference wrote, to compare against.")
  var referenceLogits: String?

  @Option(help: "Tokens a saved reference keeps per position (1...the vocabulary).")
  var referenceTop = 64

  @Option(help: "A second UTF-8 text: report how differently it loads the experts.")
  var compareText: String?

  @Option(help: "Output: text or json.")
  var format: OutputFormat = .text

  enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

  func validate() throws {
    if let context { try OptionLimits.check("--context", context, in: 2...65536) }
    if let stride { try OptionLimits.check("--stride", stride, in: 1...(context ?? 65536)) }
    if let maxTokens { try OptionLimits.check("--max-tokens", maxTokens, in: 2...100_000_000) }
    try OptionLimits.check("--reference-top", referenceTop, in: 1...(1 << 24))
    if reference != nil && referenceLogits != nil {
      throw ValidationError("--reference and --reference-logits are two references; give one")
    }
    if let saveReference, [model, text, reference, referenceLogits, compareText].contains(saveReference) {
      throw ValidationError("--save-reference \(saveReference) would overwrite an input")
    }
  }

  /// One pass of `model` over `input`: its logits and its MoE layers' routing.
  static func pass(_ model: HuggingFaceModel, _ input: [Int]) -> (logits: Matrix<Float>, experts: [[[Int]]]) {
    let (logits, experts) = RoutingRecorder.recording {
      model.model.logits(input, layout: .single(input.count))
    }
    return (logits, experts)
  }

  func run() throws {
    threading.apply()
    BLAS.warnIfGenericKernels()
    let (content, textBytes) = try TextFile.read(text, option: "--text")
    let saved: ReferenceLogits?
    do {
      saved = try referenceLogits.map { try ReferenceLogits(contentsOfFile: $0) }
    } catch {
      throw ValidationError("--reference-logits: \(error)")
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
    var context = context ?? Swift.max(2, Swift.min(512, positions))
    if let stride, stride > context {
      throw ValidationError("--stride must be in 1...\(context), the context, got \(stride)")
    }
    var stride = stride ?? Swift.max(1, context / 2)
    var tokens = try tokenizer.encode(content)
    if let maxTokens { tokens = Array(tokens.prefix(maxTokens)) }
    guard tokens.count >= 2 else { throw ValidationError("--text \(text) has fewer than 2 tokens") }
    if let saved, let path = referenceLogits {
      // The saved windows are the ones scored, so that every position has its reference.
      guard saved.tokens == tokens, saved.vocabulary == loaded.model.vocabulary else {
        throw ValidationError(
          "--reference-logits \(path) was saved on other tokens or another vocabulary than --text \(text) with --model \(model)"
        )
      }
      guard self.context ?? saved.context == saved.context, self.stride ?? saved.stride == saved.stride else {
        throw ValidationError(
          "--reference-logits \(path) was scored with --context \(saved.context) --stride \(saved.stride)")
      }
      (context, stride) = (saved.context, saved.stride)
    }
    if saveReference != nil && referenceTop > loaded.model.vocabulary {
      throw ValidationError(
        "--reference-top \(referenceTop) exceeds the vocabulary of \(loaded.model.vocabulary)")
    }
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
    let windows = ScoringWindows(count: tokens.count, context: context, stride: stride)
    var (ours, theirs, divergence, shift) = (Perplexity(), Perplexity(), Divergence(), RoutingShift())
    var load = ExpertLoad()
    let experts = loaded.checkpoint.architecture.moe?.routedExperts ?? 0
    var output = ReferenceLogits(
      tokens: tokens, vocabulary: loaded.model.vocabulary,
      top: Swift.min(referenceTop, loaded.model.vocabulary),
      context: context, stride: stride, routingLayers: loaded.checkpoint.architecture.isMoELayer.count { $0 })
    var savedPositions = (saved?.positions ?? [])[...]
    var progress = ProgressBar(total: windows.count, stage: "moe-eval")
    var seconds = 0.0
    for window in windows {
      let input = Array(tokens[window.tokens])
      var ran = (logits: Matrix<Float>(rows: 0, columns: 0), experts: [[[Int]]]())
      seconds += Stopwatch.seconds { ran = Self.pass(loaded, input) }
      let referenceRun = referenceModel.map { Self.pass($0, input) }
      let rows = window.predictingRows
      load.add(ran.experts, rows: rows, experts: experts)
      if let referenceRun { shift.add(reference: referenceRun.experts, model: ran.experts, rows: rows) }
      for (target, row) in zip(window.targets, rows) {
        ours.add(logits: ran.logits[row: row], target: tokens[target])
        if saveReference != nil {
          output.add(logits: ran.logits[row: row], target: target, experts: ran.experts.map { $0[row] })
        }
        if let referenceRun {
          theirs.add(logits: referenceRun.logits[row: row], target: tokens[target])
          divergence.add(reference: referenceRun.logits[row: row], model: ran.logits[row: row])
        }
        if let position = savedPositions.popFirst() {
          theirs.add(logProbability: Double(position.targetLogProbability))
          divergence.add(reference: position, model: ran.logits[row: row])
          for (layer, chosen) in position.experts.enumerated() where layer < ran.experts.count {
            shift.add(layer: layer, reference: chosen, model: ran.experts[layer][row])
          }
        }
      }
      progress.advance(label: "\(ours.tokens) tokens")
    }
    progress.finish()
    if let saveReference {
      do {
        try output.write(to: saveReference)
      } catch {
        throw ValidationError("--save-reference: \(error)")
      }
    }
    let loadDivergence = try compareText.map { path in
      try compareLoads(
        load, text: path, model: loaded, tokenizer: tokenizer, context: context, stride: stride,
        experts: experts)
    }
    // Bits per byte need every token scored, which the windows guarantee up to --max-tokens.
    let bytes = maxTokens == nil ? textBytes : try tokenizer.bytes(of: tokens).count
    var rows: [(String, String)] = [
      ("model", model), ("weights", weightFormat.rawValue),
      ("bits per weight", loaded.compactBitsPerWeight.map { Format.fixed($0, 2) } ?? "32 (float32)"),
      ("calibration", calibrated?.description ?? "none"), ("tokens scored", "\(ours.tokens)"),
      ("windows", "\(windows.count) of \(context), stride \(stride)"),
      ("perplexity", Format.fixed(ours.value, 4)),
      ("bits per byte", Format.fixed(ours.bitsPerByte(bytes: bytes), 4)),
      (
        "tokens/s",
        Format.fixed(Double(windows.reduce(0) { $0 + $1.tokens.count }) / Swift.max(seconds, 1e-9), 1)
      ),
    ]
    if referenceModel != nil || saved != nil {
      rows += [
        ("reference perplexity", Format.fixed(theirs.value, 4)),
        ("Δ perplexity", Format.fixed(ours.value - theirs.value, 4)),
        ("KL divergence mean", Format.fixed(divergence.mean, 6)),
        ("KL divergence p99", Format.fixed(divergence.quantile(0.99), 6)),
        ("top-1 agreement", Format.fixed(divergence.topOneAgreement * 100, 2) + " %"),
      ]
      if !shift.changedShare.isEmpty {
        rows += [
          ("routing changed", Format.fixed(shift.meanChangedShare * 100, 2) + " %"),
          (
            "routing changed/layer",
            shift.changedShare.map { Format.fixed($0 * 100, 1) }.joined(separator: " ")
          ),
        ]
      }
    }
    if let saveReference { rows.append(("saved reference", "\(saveReference) (top \(output.top))")) }
    if let loadDivergence {
      rows += [
        (
          "expert-load JS mean",
          Format.fixed(loadDivergence.reduce(0, +) / Double(Swift.max(1, loadDivergence.count)), 4)
        ),
        ("expert-load JS/layer", loadDivergence.map { Format.fixed($0, 3) }.joined(separator: " ")),
      ]
    }
    if format == .json {
      print("{" + rows.map { "\(JSON.quoted($0.0)): \(JSON.quoted($0.1))" }.joined(separator: ", ") + "}")
    } else {
      for (key, value) in rows { print("\(key.padding(toLength: 22, withPad: " ", startingAt: 0)) \(value)") }
    }
  }

  /// Per MoE layer, the Jensen-Shannon divergence (bits) between `load` (the text's) and the
  /// expert loads of the text at `path` (`--compare-text`), scored in the same windows.
  func compareLoads(
    _ load: ExpertLoad, text path: String, model: HuggingFaceModel, tokenizer: BPETokenizer, context: Int,
    stride: Int, experts: Int
  ) throws -> [Double] {
    guard experts > 0 else {
      throw ValidationError("--compare-text needs a model with MoE layers; --model \(self.model) has none")
    }
    var tokens = try tokenizer.encode(try TextFile.read(path, option: "--compare-text").text)
    if let maxTokens { tokens = Array(tokens.prefix(maxTokens)) }
    guard tokens.count >= 2 else { throw ValidationError("--compare-text \(path) has fewer than 2 tokens") }
    var other = ExpertLoad()
    let windows = ScoringWindows(count: tokens.count, context: context, stride: stride)
    var progress = ProgressBar(total: windows.count, stage: "compare-text")
    for window in windows {
      let input = Array(tokens[window.tokens])
      let routing = Self.pass(model, input).experts
      other.add(routing, rows: window.predictingRows, experts: experts)
      progress.advance()
    }
    progress.finish()
    return ExpertLoad.divergence(load, other)
  }
}
