import ArgumentParser
import Foundation
import Linalg
import MoE
import Report
import _ExampleSupport

/// Trains a small MoE stack under each balancing remedy, over several seeds, and reports
/// how often routing collapses.
@main
struct RoutingCollapse: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "routing-collapse",
    abstract: "Train small MoE stacks with and without balancing and count routing collapses.",
    discussion: """
      The task is a seeded mixture of 2E random linear maps (more clusters than experts), so \
      experts that specialise pay. Every configuration trains one model per seed; a run \
      collapses when, in any layer, the two busiest experts take at least 75 % of the \
      assignments for 10 consecutive steps.
      """)

  @OptionGroup var threading: ThreadsOption

  @Option(help: "Runs per configuration, seeds 0..<N.")
  var seeds = 10

  @Option(help: "Training steps per run.")
  var steps = 300

  @Option(help: "Routed experts per layer.")
  var experts = 8

  @Option(name: .customLong("top-k"), help: "Experts per token.")
  var topK = 2

  @Option(help: "Model width d.")
  var dimensions = 32

  @Option(help: "MoE layers in the stack.")
  var layers = 2

  @Option(help: "Tokens per training batch.")
  var batch = 64

  @Option(help: "Peak learning rate of Adam (warm-up over the first 10 % of steps, then cosine decay).")
  var learningRate = 1e-2

  @Option(
    name: .customLong("output-dir"),
    help: "Folder for the per-step load CSVs and SVG charts (seed 0 of each configuration).")
  var outputDirectory = "routing-collapse-output"

  func validate() throws {
    try OptionLimits.check("--seeds", seeds, in: 1...1000)
    try OptionLimits.check("--steps", steps, in: 1...1_000_000)
    try OptionLimits.check("--layers", layers, in: 1...64)
    try OptionLimits.check("--batch", batch, in: 1...65536)
    try OptionLimits.check("--dimensions", dimensions, in: 1...4096)
    try OptionLimits.check("--experts", experts, in: 2...1024)
    guard learningRate > 0, learningRate.isFinite else {
      throw ValidationError("--learning-rate must be positive, got \(learningRate)")
    }
    guard topK >= 1, topK <= experts else {
      throw ValidationError("--top-k must be in 1...\(experts), got \(topK)")
    }
    // Per layer: experts (d → 2d → d) with gradients and Adam's moments, a training pass's
    // activations; and seed 0's per-step load record (Double per step, layer and expert).
    let (l, d, e, b) = (Double(layers), Double(dimensions), Double(experts), Double(batch))
    try OptionLimits.checkMemory(
      l * 4 * (4 * 6 * d * d * e + 2 * b * Double(topK) * 8 * d + 8 * b * d) + 8 * Double(steps) * l * e,
      for:
        "--layers \(layers), --dimensions \(dimensions), --experts \(experts), --batch \(batch), --steps \(steps)"
    )
    try OutputPath.checkFolder(outputDirectory)
  }

  /// Where seed 0's loads of `configuration` go, without the extension.
  func base(_ configuration: Configuration) -> String { "\(outputDirectory)/loads-\(configuration.fileName)" }

  func run() throws {
    threading.apply()
    let setup = Setup(
      experts: experts, topK: topK, dimensions: dimensions, layers: layers, batch: batch, steps: steps,
      learningRate: learningRate)
    let configurations = Configuration.all(topK: topK)
    try OutputPath.makeFolder(outputDirectory)
    let outputs = try OutputBatch(
      outputs: configurations.flatMap { [base($0) + ".csv", base($0) + ".svg"] }, inputs: [])
    var table = Table(
      header: [
        "configuration", "collapse rate", "final task loss", "final CV", "final MaxVio", "dead experts",
        "s/run",
      ],
      alignments: [.left, .right, .right, .right, .right, .right, .right])
    var progress = ProgressBar(total: configurations.count * seeds, stage: "runs")
    for configuration in configurations {
      var runs: [RunResult] = []
      for seed in 0..<seeds {
        let run = Trainer(setup: setup, configuration: configuration, seed: UInt64(seed)).train(
          recordLoads: seed == 0)
        if let record = run.loadRecord { try stage(record, for: configuration, in: outputs) }
        runs.append(run)
        progress.advance(label: configuration.name)
      }
      table.append(Self.summary(configuration.name, runs))
    }
    progress.finish()
    try outputs.commit()
    print(
      "Routing collapse: \(layers) MoE layers, d = \(dimensions), \(experts) experts, top-\(topK), \(steps) steps of \(batch) tokens, peak learning rate \(learningRate), \(seeds) seeds\n"
    )
    print(table.markdown)
    print(
      "collapse: the two busiest experts of some layer hold ≥ 75 % of its assignments for 10 steps in a row; final values average the last 10 steps (loss) or the last step (CV, MaxVio, dead experts summed over layers); mean ± standard deviation over seeds."
    )
    print("Per-step expert loads of seed 0: \(outputDirectory)/loads-<configuration>.csv and .svg")
  }

  /// One row of the summary table.
  static func summary(_ name: String, _ runs: [RunResult]) -> [String] {
    func stats(_ values: [Double], _ digits: Int) -> String {
      let mean = values.reduce(0, +) / Double(values.count)
      let spread = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
      return Format.fixed(mean, digits) + " ± " + Format.fixed(spread, digits)
    }
    let collapsed = runs.count { $0.collapsed }
    return [
      name, "\(collapsed)/\(runs.count)", stats(runs.map(\.finalLoss), 4), stats(runs.map(\.finalCV), 2),
      stats(runs.map(\.finalMaxViolation), 2), stats(runs.map { Double($0.deadExperts) }, 1),
      Format.fixed(runs.map(\.seconds).reduce(0, +) / Double(runs.count), 2),
    ]
  }

  /// Stages seed 0's per-step loads as CSV and its first layer's as an SVG chart.
  func stage(_ record: [[[Double]]], for configuration: Configuration, in outputs: OutputBatch) throws {
    var csv = Table(header: ["step", "layer"] + (0..<experts).map { "expert_\($0)" })
    for (step, layers) in record.enumerated() {
      for (layer, fractions) in layers.enumerated() {
        csv.append(["\(step)", "\(layer)"] + fractions.map { Format.fixed($0, 4) })
      }
    }
    try outputs.stage(Data(csv.csv.utf8), to: base(configuration) + ".csv")
    let chart = LineChart(
      title: "\(configuration.name): expert load, layer 0, seed 0", xLabel: "training step",
      yLabel: "share of assignments",
      series: (0..<experts).map { e in LineChart.Series(name: "expert \(e)", values: record.map { $0[0][e] })
      })
    try outputs.stage(Data(chart.svg.utf8), to: base(configuration) + ".svg")
  }
}
