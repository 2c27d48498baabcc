import ArgumentParser
import Linalg
import MoE
import Report
import _ExampleSupport

/// Task-level fine-tuning of a trained MoE layer under each freezing rule: trainable
/// parameters, the measured time of a fine-tuning step against full fine-tuning, the new
/// task's loss, and the old task's loss afterwards (forgetting) — the article's claim
/// that tuning the routers and a few experts cuts fine-tuning compute by 80–90 % without
/// catastrophic forgetting, checked.
@main
struct ExpertFinetune: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "expert-finetune",
    abstract:
      "Fine-tune a trained MoE layer on a shifted task under each freezing rule; time, loss, forgetting.")

  @OptionGroup var threading: ThreadsOption

  @Option(help: "Model width d (experts are d → 2d → d SwiGLU networks).")
  var dimensions = 128

  @Option(help: "Routed experts.")
  var experts = 16

  @Option(name: .customLong("top-k"), help: "Experts per token.")
  var topK = 2

  @Option(help: "Pre-training steps on task A.")
  var pretrainSteps = 600

  @Option(help: "Fine-tuning steps on task B, per rule.")
  var steps = 300

  @Option(help: "Tokens per step.")
  var batch = 256

  @Flag(help: "A small model and few steps: a smoke run.")
  var quick = false

  func validate() throws {
    try OptionLimits.check("--dimensions", dimensions, in: 2...4096)
    try OptionLimits.check("--experts", experts, in: 2...1024)
    try OptionLimits.check("--pretrain-steps", pretrainSteps, in: 1...1_000_000)
    try OptionLimits.check("--steps", steps, in: 1...1_000_000)
    try OptionLimits.check("--batch", batch, in: 1...65536)
    try OptionLimits.check("--top-k", topK, in: 1...experts)
    // Experts (d → 2d → d) with gradients and Adam's two moments, for the base and a
    // fine-tuned copy; a training pass's activations.
    let (d, e, b, k) = (Double(dimensions), Double(experts), Double(batch), Double(topK))
    try OptionLimits.checkMemory(
      4 * (2 * 4 * 6 * d * d * e + 2 * b * k * 8 * d + 8 * b * d),
      for: "--dimensions \(dimensions), --experts \(experts), --batch \(batch)")
  }

  func run() throws {
    threading.apply()
    let (d, e, pre, fine, n) =
      quick ? (16, 8, 40, 20, 64) : (dimensions, experts, pretrainSteps, steps, batch)
    var g = Xoshiro256StarStar(seed: 5)
    let taskA = MixtureOfRegressions<Float>(clusters: 8, dimensions: d, using: &g)
    let taskB = MixtureOfRegressions<Float>(clusters: 8, dimensions: d, using: &g)
    var pretrained = MoELayer<Float>(
      dimensions: d, hiddenDimensions: 2 * d,
      router: TopKSoftmaxRouter(dimensions: d, expertCount: e, k: topK, using: &g),
      using: &g)
    let rules: [FineTuningRule] = [
      .full, .routerOnly, .routerAndMostUsedExperts(topK), .routerAndNewExperts(topK),
      .routerAndAdapters(rank: 8, experts: topK),
    ]
    // Phases on standard error: pre-training, then each rule's fine-tuning.
    var progress = ProgressBar(total: 1 + rules.count, stage: "expert-finetune")
    _ = Trainer.train(&pretrained, on: taskA, steps: pre, batch: n, needsInputGradient: true, using: &g)
    progress.advance(label: "pre-trained")
    let heldOutA = taskA.batch(1024, using: &g)
    let heldOutB = taskB.batch(1024, using: &g)
    print(
      "Pre-trained on task A (\(pre) steps): task-A loss \(Format.fixed(Trainer.loss(pretrained, heldOutA), 4)), "
        + "task-B loss \(Format.fixed(Trainer.loss(pretrained, heldOutB), 4)) before fine-tuning\n")

    var table = Table(
      header: [
        "rule", "trainable parameters", "ms per step", "vs full", "compute saved", "task-B loss",
        "task-A loss after",
      ],
      alignments: [.left, .right, .right, .right, .right, .right, .right])
    var fullTime: Double?
    for rule in rules {
      var layer = rule.prepare(pretrained, taskData: taskB.batch(512, using: &g).x, using: &g)
      let seconds = Trainer.train(
        &layer, on: taskB, steps: fine, batch: n, needsInputGradient: rule == .full, using: &g)
      let perStep = seconds / Double(fine)
      let base = fullTime ?? perStep
      fullTime = base
      table.append([
        "\(rule)", "\(layer.parameterCount(trainableOnly: true)) of \(layer.parameterCount())",
        Format.fixed(perStep * 1e3, 2), Format.fixed(perStep / base, 2),
        Format.fixed((1 - perStep / base) * 100, 0) + " %", Format.fixed(Trainer.loss(layer, heldOutB), 4),
        Format.fixed(Trainer.loss(layer, heldOutA), 4),
      ])
      progress.advance(label: "\(rule)")
    }
    progress.finish()
    print(
      "Fine-tuning on task B (\(fine) Adam steps of \(n) tokens; one MoE layer, d \(d), \(e) experts, top-\(topK); "
        + "a step is the forward pass, the backward pass and the update)")
    print(table.markdown)
  }
}

/// Adam on mean squared error.
enum Trainer {
  /// Trains `layer` for `steps` steps; returns the seconds the steps took (forward,
  /// backward and update; drawing the batches is not timed).
  static func train(
    _ layer: inout MoELayer<Float>, on task: MixtureOfRegressions<Float>, steps: Int, batch: Int,
    needsInputGradient: Bool,
    using g: inout Xoshiro256StarStar
  ) -> Double {
    var optimizer = Adam<Float>()
    var context = RoutingContext()
    var total = 0.0
    for _ in 0..<steps {
      let (x, y) = task.batch(batch, using: &g)
      total += Stopwatch.seconds {
        let (result, cache) = layer.forwardForTraining(x, context: &context)
        let (_, gradient) = MeanSquaredError.evaluate(result.output, target: y)
        layer.zeroGradients()
        _ = layer.backward(gradient, cache: cache, needsInputGradient: needsInputGradient)
        optimizer.update(&layer, learningRate: 3e-3)
      }
    }
    return total
  }

  static func loss(_ layer: MoELayer<Float>, _ data: (x: Matrix<Float>, y: Matrix<Float>)) -> Double {
    Double(MeanSquaredError.evaluate(layer(data.x), target: data.y).loss)
  }
}
