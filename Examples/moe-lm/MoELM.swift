import ArgumentParser
import Foundation
import Linalg
import MoE
import ModelIO
import Report

/// Small byte-level language models on real text: dense against sparse at equal cost,
/// routing collapse under stress, and task fine-tuning on a second domain.
@main
struct MoELM: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "moe-lm",
    abstract:
      "Dense and MoE language models trained on real text: quality per FLOP, routing collapse, fine-tuning.",
    discussion: """
      Trains byte-level decoders (causal attention with RoPE, pre-norm, dense or MoE feed-forward; AdamW, \
      clipping at norm 1, warm-up + cosine) on English text — Debian's fortunes, or your own with --text — and \
      fine-tunes them on a second domain — the Python standard library's source, or your own with \
      --second-domain (install the defaults with scripts/install-text.sh). Each text is split by entry (a \
      fortune, a Python file, or a paragraph of your text): every --validation-every-th to validation. Every run \
      prints each text's fingerprint and whether it is a text MoEKit's documented figures used. Validation loss is in bits per \
      byte. The three studies: (1) Table 1's rows scaled down to one attention stack, the same tokens and \
      schedule for each, with parameters, training FLOPs, tokens/s and a chart of validation loss against \
      FLOPs; (2) each balancing configuration at top-1 and top-2 over several seeds under a learning rate and \
      router initialisation that stress routing, with the collapse detector's verdict and load charts; \
      (3) a MoE model pre-trained on English and fine-tuned on Python under each fine-tuning rule, with step \
      time, compute against full fine-tuning, the Python bits/byte after and the English forgetting. The \
      charts and CSV files go to --output-directory, all written together at the end; the trained Dense and \
      MoE 8×top-2 models of study 1 go to its checkpoints/ folder as Llama and Mixtral checkpoints that \
      moe-generate and transformers load.
      """)

  @Option(help: "Training steps per run (10...100000; default 400, 40 with --quick).")
  var steps: Int?

  @Option(help: "Model width (16...1024, a multiple of --heads · 2).")
  var dimensions = 64

  @Option(help: "Attention heads (1...64).")
  var heads = 4

  @Option(help: "Decoder layers (1...16).")
  var layers = 2

  @Option(help: "Bytes per training sequence (8...1024).")
  var context = 64

  @Option(help: "Sequences per step (1...256).")
  var sequences = 8

  @Option(name: .customLong("learning-rate"), help: "Peak learning rate (1e-6...1).")
  var learningRate = 3e-3

  @Option(
    name: .customLong("collapse-seeds"),
    help: "Seeds per balancing configuration in study 2 (1...100; default 5, 2 with --quick).")
  var collapseSeeds: Int?

  @Option(
    name: .customLong("collapse-learning-rate-factor"),
    help: "Study 2's learning rate as a multiple of --learning-rate (0.01...100).")
  var collapseLearningRateFactor = 3.0

  @Option(
    name: .customLong("collapse-router-scale"),
    help: "Study 2's router gates drawn this many times larger than usual (0.01...1000; 1 is the usual init)."
  )
  var collapseRouterScale = 10.0

  @Option(help: "Which studies to run, comma-separated: quality, collapse, finetune.")
  var studies = "quality,collapse,finetune"

  @Option(
    help:
      "Study 1's models to train, comma-separated: dense, dense-x10, moe-8, moe-16, fine-grained (default all)."
  )
  var models = "dense,dense-x10,moe-8,moe-16,fine-grained"

  var chosenModels: Set<String> {
    Set(models.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
  }

  @Option(
    help: ArgumentHelp(
      "Training text: a file, or a folder of files, cut into paragraphs at blank lines (default: Debian's fortunes).",
      valueName: "path"))
  var text: String?

  @Option(
    name: .customLong("second-domain"),
    help: ArgumentHelp(
      "Study 3's fine-tuning text, read as --text is (default: the Python standard library's .py files).",
      valueName: "path"))
  var secondDomain: String?

  @Option(
    name: .customLong("validation-every"),
    help: "Every n-th entry of each text goes to validation, the rest to training (2...1000).")
  var validationEvery = 10

  @Option(help: "Seed of every draw (weights, batches, routing noise).")
  var seed: UInt64 = 1

  @Option(
    name: .customLong("output-directory"), help: "Folder for the charts and CSV files (made if missing).")
  var outputDirectory = "moe-lm-output"

  @Option(help: "BLAS threads (1...256; default 1: these matrices are too small to split).")
  var threads = 1

  @Flag(help: "40 steps, 2 collapse seeds and smaller validation: a smoke run for the test suite.")
  var quick = false

  var chosenStudies: Set<String> {
    Set(studies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
  }

  func validate() throws {
    try OptionLimits.check("--steps", steps ?? 400, in: 10...100_000)
    try OptionLimits.check("--heads", heads, in: 1...64)
    try OptionLimits.check("--dimensions", dimensions, in: 16...1024)
    guard dimensions % (2 * heads) == 0 else {
      throw ValidationError(
        "--dimensions \(dimensions) must be a multiple of 2 · --heads (\(2 * heads)) for RoPE")
    }
    try OptionLimits.check("--layers", layers, in: 1...16)
    try OptionLimits.check("--context", context, in: 8...1024)
    try OptionLimits.check("--sequences", sequences, in: 1...256)
    try OptionLimits.check("--learning-rate", learningRate, in: 1e-6...1)
    try OptionLimits.check("--collapse-seeds", collapseSeeds ?? 5, in: 1...100)
    try OptionLimits.check("--threads", threads, in: 1...256)
    try OptionLimits.check("--collapse-learning-rate-factor", collapseLearningRateFactor, in: 0.01...100)
    try OptionLimits.check("--collapse-router-scale", collapseRouterScale, in: 0.01...1000)
    try OptionLimits.check("--validation-every", validationEvery, in: 2...1000)
    let slugs = Set(LanguageModelRecipe.table(dimensions: dimensions).map(\.slug))
    guard chosenModels.isSubset(of: slugs), !chosenModels.isEmpty else {
      throw ValidationError("--models takes \(slugs.sorted().joined(separator: ", ")), not '\(models)'")
    }
    let unknown = chosenStudies.subtracting(["quality", "collapse", "finetune"])
    guard unknown.isEmpty, !chosenStudies.isEmpty else {
      throw ValidationError("--studies takes quality, collapse and finetune, not '\(studies)'")
    }
    // The widest row (Dense ×10): weights, gradients and two Adam moments, and a step's
    // activations (each layer keeps about 40d + 2·hidden values per token, the logits 3·256).
    let (d, t, l) = (Double(dimensions), Double(context * sequences), Double(layers))
    let weights = l * (4 * d * d + 3 * d * 40 * d) + 256 * d
    try OptionLimits.checkMemory(
      4 * (4 * weights + t * (l * (40 * d + 80 * d) + 768)),
      for: "--dimensions \(dimensions), --layers \(layers)")
    try OutputPath.checkFolder(outputDirectory)
  }

  func run() throws {
    BLAS.warnIfGenericKernels()
    BLAS.threadCount = threads
    let english = try corpus("--text", text, default: (TextCorpus.fortunesFolder, .fortunes))
    let python =
      chosenStudies.contains("finetune")
      ? try corpus(
        "--second-domain", secondDomain, default: (TextCorpus.pythonFolder, .sourceFiles(extension: "py")))
      : nil
    var setup = LMSetup(
      dimensions: dimensions, heads: heads, layers: layers, context: context, sequences: sequences,
      steps: steps ?? (quick ? 40 : 400), learningRate: learningRate)
    if quick { setup.validationSequences = 16 }
    print(
      "moe-lm: \(setup.layers) layers, d = \(setup.dimensions), \(setup.heads) heads, context \(setup.context), \(setup.sequences) sequences a step; seed \(seed); \(BLAS.threadCount) BLAS threads"
    )
    print("  text: \(english.record)")
    if let python { print("  second domain: \(python.record)") }
    try OutputPath.makeFolder(outputDirectory)
    if chosenStudies.contains("quality") { try OutputPath.makeFolder(outputDirectory + "/checkpoints") }
    let outputs = try OutputBatch(outputs: Studies.files(in: outputDirectory), inputs: [])
    var study = Studies(
      setup: setup,
      english: LMTrainer(setup: setup, training: english.training, validation: english.validation),
      seed: seed,
      collapseSeeds: collapseSeeds ?? (quick ? 2 : 5),
      collapseStress: (collapseLearningRateFactor, Float(collapseRouterScale)), outputs: outputs,
      folder: outputDirectory, qualityRows: chosenModels)
    study.names = (
      text.map { ($0 as NSString).lastPathComponent } ?? "English",
      secondDomain.map { ($0 as NSString).lastPathComponent } ?? "Python"
    )
    let rows = chosenModels.count
    if chosenStudies.contains("quality") {
      var bar = ProgressBar(total: rows * setup.steps, stage: "quality per FLOP")
      try study.qualityPerFLOP(progress: &bar)
    }
    if chosenStudies.contains("collapse") {
      var bar = ProgressBar(
        total: 2 * Balancing.all.count * study.collapseSeeds * setup.steps, stage: "routing collapse")
      try study.routingCollapse(progress: &bar)
    }
    if let python {
      var bar = ProgressBar(total: setup.steps + 5 * max(1, setup.steps / 2), stage: "fine-tuning")
      try study.fineTuning(
        on: LMTrainer(setup: setup, training: python.training, validation: python.validation), progress: &bar)
    }
    try outputs.commit()
    print("\nCharts and CSV files: \(outputDirectory)/")
  }

  /// The text an option names, or its default when not given, checked to hold a training
  /// window and a validation window of `--context` bytes.
  func corpus(_ option: String, _ path: String?, default fallback: (String, TextCorpus.Format)) throws
    -> TextCorpus
  {
    let corpus: TextCorpus
    do {
      corpus = try TextCorpus(
        path: path ?? fallback.0, format: path == nil ? fallback.1 : .paragraphs,
        validationEvery: validationEvery)
    } catch let error as TextCorpusError {
      throw ValidationError(path == nil ? "\(error)" : "\(option) \(path!): \(error)")
    }
    let shortest = min(corpus.training.count, corpus.validation.count)
    guard shortest >= context + 2 else {
      throw ValidationError(
        "\(option) \(corpus.path): its \(corpus.training.count == shortest ? "training" : "validation") part is \(shortest) bytes, shorter than one window of --context \(context) + 2 bytes; give more text or a smaller --context"
      )
    }
    return corpus
  }
}
