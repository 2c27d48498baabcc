import ArgumentParser
import Foundation
import Linalg
import MoE
import Report
import _ExampleSupport

/// One MoE layer with its experts held as Float, bf16, q8, q4 and ggml's Q6_K, Q5_K, Q4_K and
/// MXFP4: decode beside the
/// bandwidth ideal of each format's bytes, the speed-up over Float, prefill against Float,
/// and the output's error against Float.
@main
struct QuantBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "quant-bench",
    abstract:
      "MoE layers with Float, bf16, 8-bit, 4-bit and ggml block-format experts: decode, prefill and accuracy in one run.",
    discussion: """
      Decode uses dense-vs-sparse's C3 shape (the Mixtral-8x7B layer: d 4096, 8 experts of 14336, \
      top-2) at T = 1 and 8; its ideal is the bytes of the experts the tokens touch, in each \
      format, at the streaming bandwidth measured between the timed steps (BandwidthProbe). Prefill \
      uses C1 (2048 tokens, d 1024, 8 experts of 2816, top-2). Accuracy is the relative Frobenius \
      error of the layer's output against Float on N(0, 1) inputs (64 tokens, C1 shape). Goals: \
      decode ÷ ideal ≤ 1.15 at T = 1 and ≤ 1.3 at T = 8; speed-up over Float at T = 1 \
      ≥ 1.8 (bf16), 3.5 (q8), 6 (q4); prefill ÷ Float ≤ 1.3; error ≤ 0.5 %, 1.5 %, 6 %. Last, every \
      whole model in --models is loaded in each format and the share of positions whose top-1 token \
      is float32's is reported.
      """)

  @OptionGroup var threading: ThreadsOption

  @Option(help: "Timed rounds per measurement (1...50); medians are reported.")
  var repetitions = 5

  @Flag(help: "Small shapes (d 256): a smoke run of a few seconds.")
  var quick = false

  @Option(help: "Output: text or json.")
  var format: OutputFormat = .text

  @Option(help: "Seed of the random weights and inputs.")
  var seed: UInt64 = 1

  @Option(
    help: """
      Folder of Hugging Face model folders with a reference.json (default: the test fixtures, \
      Tests/ModelIOTests/Fixtures/models, when run from the repository; skipped when absent).
      """)
  var models: String?

  enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

  static let fixtureModels = "Tests/ModelIOTests/Fixtures/models"

  func validate() throws {
    guard (1...50).contains(repetitions) else {
      throw ValidationError("--repetitions must be in 1...50, got \(repetitions)")
    }
    var isFolder: ObjCBool = false
    if let models,
      !(FileManager.default.fileExists(atPath: models, isDirectory: &isFolder) && isFolder.boolValue)
    {
      throw ValidationError("--models \(models) is not a folder")
    }
    // The decode layer's experts in Float, bf16, q8 and q4 are alive at once: 3·d·h·8 weights
    // at 4 + 2 + 1.06 + 0.56 bytes, plus the probe's 256 MB.
    let needed = quick ? 0 : 3 * 4096 * 14336 * 8 * 8 + (1 << 28)
    let memory = Int(ProcessInfo.processInfo.physicalMemory)
    guard needed < memory else {
      throw ValidationError(
        "the full run holds about \(Format.bytes(needed)) and this machine has \(Format.bytes(memory)); use --quick"
      )
    }
  }

  /// The formats compared, Float first (`nil`).
  static let formats: [WeightMatrix.Format?] = [nil, .bf16, .q8, .q6K, .q5K, .q4, .q4K, .mxfp4]

  func run() throws {
    threading.apply()
    BLAS.warnIfGenericKernels()
    // The whole models' reference files are read and checked before any work.
    let agreement = try
      (models ?? (FileManager.default.fileExists(atPath: Self.fixtureModels) ? Self.fixtureModels : nil))
      .map { try TopOneAgreement(folder: $0) }
    var g = Xoshiro256StarStar(seed: seed)
    let (dDecode, hDecode) = quick ? (256, 896) : (4096, 14336)
    let (dPrefill, hPrefill, tPrefill) = quick ? (256, 704, 256) : (1024, 2816, 2048)
    let probe = BandwidthProbe()
    var rows: [Row] = []
    // Phases on standard error: each format's decode at T = 1 and 8, its prefill, and (when
    // there are models) its whole-model agreement.
    var progress = ProgressBar(
      total: Self.formats.count * (agreement == nil ? 3 : 4), stage: "quant-bench")
    // Decode: one layer per format over the same Float weights.
    let decodeLayer = MoELayer<Float>(
      dimensions: dDecode, hiddenDimensions: hDecode,
      router: TopKSoftmaxRouter(dimensions: dDecode, expertCount: 8, k: 2, using: &g), using: &g)
    for tokens in [1, 8] {
      let x = Matrix<Float>.normal(rows: tokens, columns: dDecode, using: &g)
      var floatTime = Double.nan
      for format in Self.formats {
        let layer = Self.converted(decodeLayer, to: format)
        var workspace = MoEWorkspace<Float>()
        var context = RoutingContext()
        let forward = layer.forward(x, context: &context, workspace: &workspace)
        let touched = Set(forward.decision.assignments.map(\.expert)).count
        var (times, probes): ([Double], [Double]) = ([], [])
        for _ in 0..<repetitions {
          times.append(Stopwatch.seconds { _ = layer.forward(x, context: &context, workspace: &workspace) })
          probes.append(probe.seconds())
        }
        let time = times.sorted()[times.count / 2]
        if format == nil { floatTime = time }
        let bytes = touched * Self.expertBytes(layer.experts[0], format: format)
        let ideal = Double(bytes) / (probe.bandwidth(medianOf: probes) * 1e9)
        rows.append(
          Row(
            measure: "C3 decode T = \(tokens)", format: format, seconds: time, ideal: ideal,
            speedUp: floatTime / time, error: nil))
        progress.advance(label: "decode T = \(tokens), \(format?.rawValue ?? "float32")")
      }
    }
    // Prefill and accuracy (C1 shape).
    let prefillLayer = MoELayer<Float>(
      dimensions: dPrefill, hiddenDimensions: hPrefill,
      router: TopKSoftmaxRouter(dimensions: dPrefill, expertCount: 8, k: 2, using: &g), using: &g)
    let xPrefill = Matrix<Float>.normal(rows: tPrefill, columns: dPrefill, using: &g)
    let xAccuracy = Matrix<Float>.normal(rows: 64, columns: dPrefill, using: &g)
    let exact = prefillLayer(xAccuracy)
    var floatPrefill = Double.nan
    for format in Self.formats {
      let layer = Self.converted(prefillLayer, to: format)
      var workspace = MoEWorkspace<Float>()
      var context = RoutingContext()
      let time = Stopwatch.median(repetitions: repetitions) {
        _ = layer.forward(xPrefill, context: &context, workspace: &workspace)
      }
      if format == nil { floatPrefill = time }
      let y = layer(xAccuracy)
      let error = (y - exact).norm / exact.norm
      rows.append(
        Row(
          measure: "C1 prefill \(tPrefill) tokens", format: format, seconds: time, ideal: nil,
          speedUp: floatPrefill / time, error: Double(error)))
      progress.advance(label: "prefill, \(format?.rawValue ?? "float32")")
    }
    if let agreement {
      rows += try agreement.rows(formats: Self.formats) { progress.advance(label: "whole models, \($0)") }
    }
    progress.finish()
    print(format == .json ? Row.json(rows) : Row.text(rows))
  }

  static func converted(_ layer: MoELayer<Float>, to format: WeightMatrix.Format?) -> MoELayer<Float> {
    var copy = layer
    copy.experts = layer.experts.map { $0.converted(to: format) }
    return copy
  }

  /// Bytes of one expert's three weights in `format`.
  static func expertBytes(_ expert: FeedForward<Float>, format: WeightMatrix.Format?) -> Int {
    [expert.gate!, expert.up, expert.down].reduce(0) { sum, linear in
      let (r, c) = (linear.outputDimensions, linear.inputDimensions)
      return sum + (format.map { WeightMatrix.byteCount($0, rows: r, columns: c) } ?? 4 * r * c)
    }
  }
}
