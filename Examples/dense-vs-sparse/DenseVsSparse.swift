import ArgumentParser
import Foundation
import Linalg
import Report

/// Times MoE layers beside the dense networks that bound them — the dense SwiGLU of equal
/// active FLOPs (what a perfect MoE would cost), the dense SwiGLU of equal total
/// parameters (what sparsity saves) and, at decode, the time the touched weights need at
/// the measured `sgemv` bandwidth — all in the same run, with each thread count.
@main
struct DenseVsSparse: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dense-vs-sparse",
    abstract:
      "What sparsity buys on this machine: MoE layers against dense networks of equal active and total size.",
    discussion: """
      C1 prefill (T 2048, d 1024, h 2816, 8 experts, top-2); C2 fine-grained (32 experts of \
      h 704, top-8, a shared expert of 1408); C3 decode with the Mixtral-8x7B layer shape at T \
      = 1 and 8 (about 13 GB of weights while it runs); C4 16 experts, top-2, against the dense \
      network of equal total size. The size options replace the chosen configuration's sizes.
      """)

  enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
  }

  @Option(help: "Configurations to run: C1, C2, C3, C4 (comma-separated) or all.")
  var config = "all"

  @Option(help: "BLAS thread counts to measure, comma-separated.")
  var threads = "1,2"

  @Option(help: "Timed repetitions per figure after one warm-up; the median is reported.")
  var repetitions = 5

  @Option(help: "Output format: text or json (one object per configuration, batch size and thread count).")
  var format: OutputFormat = .text

  @Option(help: "Batch sizes T (comma-separated), replacing the configuration's.")
  var tokens: String?

  @Option(help: "Model width d.")
  var dimensions: Int?

  @Option(help: "Expert hidden width h.")
  var hidden: Int?

  @Option(help: "Routed experts E.")
  var experts: Int?

  @Option(name: .customLong("top-k"), help: "Experts per token k.")
  var topK: Int?

  @Option(help: "Shared expert hidden width (0 for none).")
  var sharedHidden: Int?

  @Option(help: "Seed for weights and inputs.")
  var seed: UInt64 = 1

  @Flag(help: "Every configuration scaled down (d 64): a smoke run of a few seconds.")
  var quick = false

  func validate() throws {
    _ = try selectedScenarios()
    _ = try threadCounts()
    try OptionLimits.check("--repetitions", repetitions, in: 1...1000)
  }

  func run() throws {
    BLAS.warnIfGenericKernels()
    let scenarios = try selectedScenarios()
    let counts = try threadCounts()
    if format == .text {
      print(
        "OpenBLAS: \(BLAS.configuration); \(BLAS.processorCount) processors; Float; medians of \(repetitions)\n"
      )
    }
    var all: [Measurement] = []
    // Phases on standard error: one per configuration (each is also printed when it finishes).
    var progress = ProgressBar(total: scenarios.count, stage: "dense-vs-sparse")
    for scenario in scenarios {
      let measured = Measurement.run(scenario, threads: counts, repetitions: repetitions, seed: seed)
      all += measured
      progress.advance(label: "\(scenario.name) measured")
      if format == .text {
        print(Self.report(scenario, measured, judged: !quick))
        fflush(nil)  // every stream: show each configuration as it finishes
      }
    }
    progress.finish()
    switch format {
    case .json: print("[" + all.map(\.jsonObject).joined(separator: ",\n ") + "]")
    case .text:
      // The goals are set for the full sizes: a --quick run shows the figures, unjudged.
      if quick { print("--quick sizes: the goals apply to the full run, so these figures are not judged.\n") }
      print(Self.goals(all, judged: !quick).markdown)
    }
  }

  // MARK: Options

  func selectedScenarios() throws -> [Scenario] {
    let presets = quick ? Scenario.quick : Scenario.standard
    let names =
      config.lowercased() == "all"
      ? presets.map(\.name) : config.uppercased().split(separator: ",").map(String.init)
    var chosen: [Scenario] = []
    for name in names {
      guard var scenario = presets.first(where: { $0.name == name }) else {
        throw ValidationError("--config: unknown configuration '\(name)' (C1, C2, C3, C4 or all)")
      }
      if let tokens { scenario.tokenCounts = try Self.list(tokens, "--tokens", in: 1...1 << 20) }
      if let dimensions {
        scenario.dimensions = try Self.checked(dimensions, "--dimensions", in: 1...1 << 16)
      }
      if let hidden { scenario.hidden = try Self.checked(hidden, "--hidden", in: 1...1 << 18) }
      if let experts { scenario.experts = try Self.checked(experts, "--experts", in: 1...4096) }
      if let topK { scenario.topK = try Self.checked(topK, "--top-k", in: 1...4096) }
      if let sharedHidden {
        scenario.sharedHidden = try Self.checked(sharedHidden, "--shared-hidden", in: 0...1 << 18)
        if sharedHidden == 0 { scenario.sharedHidden = nil }
      }
      guard scenario.topK <= scenario.experts else {
        throw ValidationError(
          "--top-k (\(scenario.topK)) must not exceed --experts (\(scenario.experts)) in \(name)")
      }
      try Self.checkMemory(scenario)
      chosen.append(scenario)
    }
    return chosen
  }

  func threadCounts() throws -> [Int] { try Self.list(threads, "--threads", in: OptionLimits.threads) }

  static func checked(_ value: Int, _ option: String, in range: ClosedRange<Int>) throws -> Int {
    try OptionLimits.check(option, value, in: range)
    return value
  }

  static func list(_ text: String, _ option: String, in range: ClosedRange<Int>) throws -> [Int] {
    let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
      throw ValidationError("\(option) takes integers separated by commas, got '\(text)'")
    }
    for value in values { try OptionLimits.check(option, value!, in: range) }
    return values.map { $0! }
  }

  /// Refuses a configuration whose largest batch would not fit: the MoE layer and the two
  /// dense baselines (with their gradients when backward is measured), and the
  /// activations of a training pass.
  static func checkMemory(_ s: Scenario) throws {
    let t = Double(s.tokenCounts.max() ?? 1)
    let (d, h, k) = (Double(s.dimensions), Double(s.hidden), Double(s.topK))
    let (active, total) = (Double(s.equalActiveHidden), Double(s.equalTotalHidden))
    let weights = 3 * d * (Double(s.experts) * h + active + total)
    let activations = 3 * t * total + 2 * t * k * (3 * h + 2 * d) + 4 * t * d
    try OptionLimits.checkMemory(
      4 * ((s.measuresBackward ? 2 : 1) * weights + activations),
      for:
        "\(s.name) with --tokens \(Int(t)), --dimensions \(s.dimensions), --hidden \(s.hidden), --experts \(s.experts)"
    )
  }

  // MARK: Text output

  static func report(_ scenario: Scenario, _ rows: [Measurement], judged: Bool) -> String {
    let s = scenario
    var header = [
      "T", "threads", "MoE ms", "tokens/s", "active GFLOP/s", "% sgemm peak", "dense =active ms",
      "MoE ÷ =active",
      "dense =total ms", "speed-up vs =total",
    ]
    if s.isDecode { header += ["experts hit", "bandwidth ideal ms", "MoE ÷ ideal"] }
    if s.measuresBackward { header += ["backward ms", "backward ÷ forward"] }
    var table = Table(
      header: header, alignments: [.right, .right] + Array(repeating: .right, count: header.count - 2))
    for m in rows {
      var row = [
        "\(m.tokens)", "\(m.threads)", Format.fixed(m.moe * 1e3, 2), Format.fixed(m.tokensPerSecond, 0),
        Format.fixed(m.activeGFLOPs, 1), Format.fixed(m.percentOfPeak, 0),
        Format.fixed(m.denseEqualActive * 1e3, 2),
        Format.fixed(m.moe / m.denseEqualActive, 2), Format.fixed(m.denseEqualTotal * 1e3, 2),
        Format.fixed(m.speedUpOverEqualTotal, 2) + "×",
      ]
      if s.isDecode {
        row += [
          "\(m.distinctExperts)", Format.fixed((m.bandwidthIdeal ?? .nan) * 1e3, 2),
          Format.fixed(m.ratioToIdeal, 2),
        ]
      }
      if s.measuresBackward {
        row += [Format.fixed((m.backward ?? .nan) * 1e3, 1), Format.fixed((m.backward ?? .nan) / m.moe, 2)]
      }
      table.append(row)
    }
    let shared = s.sharedHidden.map { ", shared expert h \($0)" } ?? ""
    let last = rows.last!
    let memory =
      "MoE working memory \(Format.fixed(Double(last.workingMemory) / 1e6, 1)) MB = "
      + "\(Format.fixed(Double(last.workingMemory) / Double(last.activationBytes), 2))× its input + output "
      + (judged ? "(goal < 2×)" : "")
      + "; peak resident \(last.peakResident.map { Format.bytes($0) } ?? "unknown")"
    return """
      \(s.name) — \(s.summary): d \(s.dimensions), h \(s.hidden), E \(s.experts), k \(s.topK)\(shared); \
      dense =active h \(s.equalActiveHidden), dense =total h \(s.equalTotalHidden) (FLOP ratio \
      \(Format.fixed(s.flopRatio, 1))×)
      \(table.markdown)
      \(memory)

      """
  }

  /// The goals against this run, with the most threads measured (`judged`: with the goal
  /// and whether it is met; otherwise the figures alone).
  static func goals(_ all: [Measurement], judged: Bool) -> Table {
    var table =
      judged
      ? Table(header: ["figure", "goal", "measured", "met"], alignments: [.left, .left, .right, .left])
      : Table(header: ["figure", "measured"], alignments: [.left, .right])
    let most = all.map(\.threads).max() ?? 1
    func add(_ figure: String, _ goal: String, _ value: Double?, _ met: (Double) -> Bool) {
      guard let value, value.isFinite else { return }
      table.append(
        judged
          ? [figure, goal, Format.fixed(value, 2), met(value) ? "yes" : "no"]
          : [figure, Format.fixed(value, 2)])
    }
    func find(_ name: String, tokens: Int? = nil) -> Measurement? {
      all.first { $0.scenario.name == name && $0.threads == most && (tokens == nil || $0.tokens == tokens) }
    }
    add("C1 MoE ÷ dense equal-active, \(most) threads", "≤ 1.05", find("C1")?.ratioToIdeal) { $0 <= 1.05 }
    add("C2 MoE ÷ dense equal-active, \(most) threads", "≤ 1.15", find("C2")?.ratioToIdeal) { $0 <= 1.15 }
    add("C3 T = 1 latency ÷ bandwidth ideal", "≤ 1.10", find("C3", tokens: 1)?.ratioToIdeal) { $0 <= 1.10 }
    add("C3 T = 8 latency ÷ bandwidth ideal", "≤ 1.25", find("C3", tokens: 8)?.ratioToIdeal) { $0 <= 1.25 }
    add("C4 speed-up over dense equal-total ÷ FLOP ratio", "≥ 0.85", find("C4")?.speedUpOverFLOPRatio) {
      $0 >= 0.85
    }
    add(
      "MoE backward ÷ forward (C1 shape)", "≤ 2.5", find("C1").flatMap { m in m.backward.map { $0 / m.moe } }
    ) {
      $0 <= 2.5
    }
    return table
  }
}
