import Foundation
import Linalg
import MoE
import ModelIO
import Report

/// The three studies of `moe-lm`, each printing its table and staging its files.
struct Studies {
  var setup: LMSetup
  var english: LMTrainer
  /// What the two texts are called in the tables ("English" and "Python" for the defaults).
  var names = (text: "English", secondDomain: "Python")
  var seed: UInt64
  var collapseSeeds: Int
  /// How much study 2 multiplies the learning rate and the router gates' initial scale by.
  var collapseStress: (learningRate: Double, routerScale: Float)
  var outputs: OutputBatch
  var folder: String
  /// Study 1's rows to train (`LanguageModelRecipe.slug`).
  var qualityRows: Set<String>

  /// The files the studies write, for the output batch.
  static func files(in folder: String) -> [String] {
    ["quality-per-flop.svg", "quality-per-flop.csv", "collapse.csv", "finetune.csv"].map { "\(folder)/\($0)" }
      + [1, 2].flatMap { k in Balancing.all.map { "\(folder)/loads-top\(k)-\(fileName($0.name)).svg" } }
  }

  /// The study-1 models written as Hugging Face checkpoints (under `checkpoints/`).
  static let checkpoints: [String: (HuggingFaceExport.Family, String)] = [
    "Dense": (.llama, "llama-dense"), "MoE 8×top-2": (.mixtral, "mixtral-8x-top2"),
  ]

  static func fileName(_ name: String) -> String {
    String(name.map { $0.isLetter || $0.isNumber ? $0 : "-" })
  }

  // MARK: 1. Quality per FLOP

  func qualityPerFLOP(progress: inout ProgressBar) throws {
    var table = Table(
      header: [
        "model", "stands for", "total params", "active params", "training FLOPs", "tokens/s", "wall s",
        "val bits/byte",
      ], alignments: [.left, .left, .right, .right, .right, .right, .right, .right])
    var series: [LineChart.Series] = []
    for recipe in LanguageModelRecipe.table(dimensions: setup.dimensions)
    where qualityRows.contains(recipe.slug) {
      progress.label = recipe.name
      var model = recipe.model(setup, seed: seed)
      let flops = recipe.trainingFLOPsPerToken(of: model, context: setup.context)
      let run = english.train(&model, flopsPerToken: flops, seed: seed) { _ in progress.advance() }
      table.append([
        recipe.name, recipe.stands, "\(model.parameterCount())", "\(recipe.activeParameters(of: model))",
        String(format: "%.3g", run.curve.last!.flops), Format.fixed(run.tokensPerSecond, 0),
        Format.fixed(run.seconds, 1), Format.fixed(run.finalBitsPerByte, 3),
      ])
      series.append(
        LineChart.Series(
          name: recipe.name, values: run.curve.map(\.bitsPerByte), positions: run.curve.map(\.flops)))
      if let (family, name) = Self.checkpoints[recipe.name] {
        try HuggingFaceExport.write(
          model, as: family, to: "\(folder)/checkpoints/\(name)", byteTokenizer: true)
      }
    }
    progress.finish()
    print(
      "\n## 1. Quality per FLOP (\(names.text) text, \(setup.steps) steps of \(setup.tokensPerStep) bytes)\n")
    print(table.markdown)
    let chart = LineChart(
      title: "Validation loss against training FLOPs", xLabel: "training FLOPs",
      yLabel: "validation bits per byte",
      series: series)
    try outputs.stage(Data(chart.svg.utf8), to: "\(folder)/quality-per-flop.svg")
    try outputs.stage(Data(table.csv.utf8), to: "\(folder)/quality-per-flop.csv")
  }

  // MARK: 2. Routing collapse

  /// Under stress: `collapseStress.learningRate`× the learning rate and router gates drawn
  /// `collapseStress.routerScale`× too large (3 and 10 by default).
  func routingCollapse(progress: inout ProgressBar) throws {
    var stressed = setup
    stressed.learningRate *= collapseStress.learningRate
    let recipe = LanguageModelRecipe.table(dimensions: setup.dimensions)[2]
    var table = Table(
      header: [
        "top-k", "balancing", "detector fired", "still collapsed at the end", "val bits/byte (mean, min–max)",
        "final top-2 load share",
      ],
      alignments: [.right, .left, .right, .right, .right, .right])
    let trainer = LMTrainer(setup: stressed, training: english.training, validation: english.validation)
    for k in [1, 2] {
      for balancing in Balancing.all {
        var bits: [Double] = []
        var collapsed = 0
        var ended = 0
        var shares: [Double] = []
        var chartLoads: [[Double]] = []
        for s in 0..<collapseSeeds {
          progress.label = "top-\(k) \(balancing.name)"
          var row = recipe
          row.topK = k
          var model = row.model(
            stressed, router: balancing.router, routerScale: collapseStress.routerScale,
            seed: seed + UInt64(s))
          let run = trainer.train(
            &model, balancing: balancing, flopsPerToken: 0, seed: seed + UInt64(s)
          ) { _ in progress.advance() }
          bits.append(run.finalBitsPerByte)
          if run.collapsed { collapsed += 1 }
          // Layer 0's top-2 share over the last tenth of the steps.
          let tail = run.loads.suffix(max(1, run.loads.count / 10))
          let share =
            tail.map { $0.sorted(by: >).prefix(2).reduce(0, +) }.reduce(0, +) / Double(max(1, tail.count))
          shares.append(share)
          if share > 0.75 { ended += 1 }
          if s == 0 { chartLoads = run.loads }
        }
        table.append([
          "\(k)", balancing.name, "\(collapsed)/\(collapseSeeds)", "\(ended)/\(collapseSeeds)",
          "\(Format.fixed(bits.reduce(0, +) / Double(bits.count), 3)) (\(Format.fixed(bits.min()!, 3))–\(Format.fixed(bits.max()!, 3)))",
          Format.fixed(shares.reduce(0, +) / Double(shares.count), 2),
        ])
        let experts = chartLoads.first?.count ?? 0
        let chart = LineChart(
          title: "top-\(k), \(balancing.name): expert load, layer 0, seed \(seed)", xLabel: "training step",
          yLabel: "share of assignments",
          series: (0..<experts).map { e in
            LineChart.Series(name: "expert \(e)", values: chartLoads.map { $0[e] })
          })
        try outputs.stage(
          Data(chart.svg.utf8), to: "\(folder)/loads-top\(k)-\(Self.fileName(balancing.name)).svg")
      }
    }
    progress.finish()
    print(
      "\n## 2. Routing collapse (MoE 8 experts, learning rate \(String(format: "%g", stressed.learningRate)), router gates ×\(String(format: "%g", collapseStress.routerScale)), \(collapseSeeds) seeds; the detector fires when two experts take > 75 % of a layer's assignments for 10 steps; still collapsed: layer 0's top-2 share > 75 % over the last tenth of the steps)\n"
    )
    print(table.markdown)
    try outputs.stage(Data(table.csv.utf8), to: "\(folder)/collapse.csv")
  }

  // MARK: 3. Fine-tuning on a second domain

  /// Pre-trains on the text, then fine-tunes on `python` (the second domain) under each rule.
  func fineTuning(on python: LMTrainer, progress: inout ProgressBar) throws {
    let recipe = LanguageModelRecipe.table(dimensions: setup.dimensions)[2]
    progress.label = "pre-training"
    var base = recipe.model(setup, seed: seed)
    let flops = recipe.trainingFLOPsPerToken(of: base, context: setup.context)
    _ = english.train(&base, flopsPerToken: flops, seed: seed) { _ in progress.advance() }
    let before = (
      english: english.bitsPerByte(base, on: english.validation),
      python: python.bitsPerByte(base, on: python.validation)
    )
    let rules: [FineTuningRule] = [
      .full, .routerOnly, .routerAndMostUsedExperts(2), .routerAndNewExperts(2),
      .routerAndAdapters(rank: 4, experts: 2),
    ]
    var table = Table(
      header: [
        "rule", "trainable params", "step ms", "compute ÷ full", "\(names.secondDomain) bits/byte",
        "\(names.text) bits/byte (forgetting)",
      ], alignments: [.left, .right, .right, .right, .right, .right])
    var fullSeconds = 0.0
    let steps = max(1, setup.steps / 2)
    for rule in rules {
      progress.label = rule.description
      var model = prepared(base, for: rule, on: python)
      let run = python.train(&model, steps: steps, flopsPerToken: 0, seed: seed + 7) { _ in progress.advance()
      }
      if rule == .full { fullSeconds = run.seconds }
      let english = english.bitsPerByte(model, on: english.validation)
      table.append([
        rule.description, "\(model.parameterCount(trainableOnly: true))",
        Format.fixed(run.stepSeconds * 1000, 1),
        Format.fixed(run.seconds / fullSeconds, 2), Format.fixed(run.finalBitsPerByte, 3),
        "\(Format.fixed(english, 3)) (\(english >= before.english ? "+" : "")\(Format.fixed(english - before.english, 3)))",
      ])
    }
    progress.finish()
    print(
      "\n## 3. Fine-tuning on \(names.secondDomain) (pre-trained on \(names.text): \(Format.fixed(before.english, 3)) bits/byte on \(names.text), \(Format.fixed(before.python, 3)) on \(names.secondDomain); \(steps) fine-tuning steps)\n"
    )
    print(table.markdown)
    try outputs.stage(Data(table.csv.utf8), to: "\(folder)/finetune.csv")
  }

  /// `base` made ready for `rule`: outside the MoE layers everything is frozen unless the
  /// rule is full fine-tuning; each MoE layer is prepared on its own inputs for a batch of
  /// the second domain.
  func prepared(_ base: DecoderModel<Float>, for rule: FineTuningRule, on python: LMTrainer) -> DecoderModel<
    Float
  > {
    var model = base
    model.setTrainable { _ in rule == .full }
    var g = Xoshiro256StarStar(seed: seed + 11)
    let (tokens, _) = python.batch(from: python.training, using: &g)
    var context = RoutingContext()
    let (_, cache) = model.forwardForTraining(
      tokens, layout: .uniform(count: setup.sequences, length: setup.context), context: &context)
    for i in model.blocks.indices {
      guard let layer = model.blocks[i].feedForward.moe else { continue }
      let taskData = cache.blocks[i].feedForward.normalized
      model.blocks[i].feedForward.feedForward = .moe(rule.prepare(layer, taskData: taskData, using: &g))
    }
    return model
  }
}
