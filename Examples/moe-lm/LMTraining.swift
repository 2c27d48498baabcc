import Foundation
import Linalg
import MoE
import Report

/// The sizes and schedule every run shares.
struct LMSetup: Sendable {
  var dimensions = 64
  var heads = 4
  var layers = 2
  /// Bytes per training sequence.
  var context = 64
  /// Sequences per step.
  var sequences = 8
  var steps = 400
  var learningRate = 3e-3
  /// Validation points along a run (the loss curves' resolution).
  var evaluations = 8
  /// Validation sequences (fixed, evenly spaced over the validation text).
  var validationSequences = 64

  var tokensPerStep: Int { context * sequences }
}

/// A balancing remedy for a MoE language model (or none).
struct Balancing: Sendable {
  var name: String
  var router: RouterChoice
  var auxiliary: LoadBalancingLoss?
  var zLoss: RouterZLoss?
  var biasUpdate: AuxiliaryLossFreeBalancer?

  static let none = Balancing(name: "no balancing", router: .softmax)
  static let all: [Balancing] = [
    .none,
    Balancing(
      name: "Switch aux loss α = 0.01", router: .softmax, auxiliary: LoadBalancingLoss(coefficient: 0.01)),
    Balancing(name: "router z-loss β = 0.001", router: .softmax, zLoss: RouterZLoss(coefficient: 0.001)),
    Balancing(
      name: "aux-loss-free bias γ = 0.01", router: .sigmoidWithBias,
      biasUpdate: AuxiliaryLossFreeBalancer(updateRate: 0.01)),
    Balancing(name: "expert choice", router: .expertChoice),
    Balancing(name: "noisy top-k", router: .noisy),
  ]
}

/// What a training run measured.
struct TrainingRun: Sendable {
  /// `(training FLOPs so far, validation bits per byte)` at each evaluation, the first
  /// before any step.
  var curve: [(flops: Double, bitsPerByte: Double)]
  var seconds: Double
  var tokensPerSecond: Double
  /// Median seconds of one step.
  var stepSeconds: Double
  /// Whether the collapse detector fired on any layer.
  var collapsed: Bool
  /// Layer 0's load fractions at each step, for the charts (MoE runs).
  var loads: [[Double]]

  var finalBitsPerByte: Double { curve.last!.bitsPerByte }
}

/// Trains a `DecoderModel` on a byte stream: AdamW, clipping at norm 1, warm-up + cosine.
struct LMTrainer {
  var setup: LMSetup
  var training: [UInt8]
  var validation: [UInt8]

  /// `steps` steps on `model` from batches drawn with `seed`.
  ///
  /// - Parameter flopsPerToken: the FLOPs the curve counts per trained token.
  func train(
    _ model: inout DecoderModel<Float>, balancing: Balancing = .none, steps: Int? = nil,
    flopsPerToken: Double,
    seed: UInt64, progress: (Int) -> Void = { _ in }
  ) -> TrainingRun {
    let steps = steps ?? setup.steps
    var g = Xoshiro256StarStar(seed: seed)
    var optimizer = Adam<Float>.adamW()
    let schedule = WarmupCosineSchedule(
      peak: setup.learningRate, warmupSteps: max(1, steps / 10), totalSteps: steps)
    var regimen = BalancingRegimen(
      layers: model.blocks.count, auxiliary: balancing.auxiliary, zLoss: balancing.zLoss,
      biasUpdate: balancing.biasUpdate)
    var curve = [(0.0, bitsPerByte(model, on: validation))]
    var loads: [[Double]] = []
    var stepTimes: [Double] = []
    let evaluateEvery = max(1, steps / setup.evaluations)
    let clock = ContinuousClock()
    var trainingTime = Duration.zero
    for step in 0..<steps {
      let (tokens, labels) = batch(from: training, using: &g)
      let started = clock.now
      var context = RoutingContext(isTraining: true, seed: seed &* 1_000_003 &+ UInt64(step))
      let (logits, cache) = model.forwardForTraining(
        tokens, layout: .uniform(count: setup.sequences, length: setup.context), context: &context)
      let (_, dLogits) = SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels)
      let routerLosses = regimen.routerLosses(for: cache.routing)
      if let first = cache.routing.first ?? nil {
        loads.append(RoutingDiagnostics(first.stats).loadFractions)
      }
      model.zeroGradients()
      model.backward(dLogits, cache: cache, routerLosses: routerLosses)
      model.clipGradients(maxNorm: 1)
      optimizer.update(&model, learningRate: schedule.learningRate(at: step))
      for (i, result) in cache.routing.enumerated() {
        regimen.updateBias(of: &model.blocks[i].feedForward, result: result)
      }
      let elapsed = clock.now - started
      trainingTime += elapsed
      stepTimes.append(Stopwatch.seconds(in: elapsed))
      if (step + 1) % evaluateEvery == 0 || step + 1 == steps {
        curve.append(
          (Double((step + 1) * setup.tokensPerStep) * flopsPerToken, bitsPerByte(model, on: validation)))
      }
      progress(step)
    }
    let seconds = Stopwatch.seconds(in: trainingTime)
    return TrainingRun(
      curve: curve, seconds: seconds, tokensPerSecond: Double(steps * setup.tokensPerStep) / seconds,
      stepSeconds: stepTimes.sorted()[stepTimes.count / 2], collapsed: regimen.collapsed,
      loads: loads)
  }

  /// `sequences` random windows of `context + 1` bytes: the first `context` as tokens, the
  /// next byte of each as its label.
  func batch(from text: [UInt8], using g: inout Xoshiro256StarStar) -> (tokens: [Int], labels: [Int]) {
    windows(
      of: text, at: (0..<setup.sequences).map { _ in Int(g.next() % UInt64(text.count - setup.context - 1)) })
  }

  /// The windows of `context` bytes of `text` starting at `starts` as tokens, each shifted by
  /// one as labels.
  func windows(of text: [UInt8], at starts: [Int]) -> (tokens: [Int], labels: [Int]) {
    var tokens: [Int] = []
    var labels: [Int] = []
    for start in starts {
      tokens += text[start..<start + setup.context].map(Int.init)
      labels += text[start + 1..<start + setup.context + 1].map(Int.init)
    }
    return (tokens, labels)
  }

  /// Mean cross-entropy in bits per byte over `setup.validationSequences` windows spread
  /// evenly over `text` (the same windows for every model).
  func bitsPerByte(_ model: DecoderModel<Float>, on text: [UInt8]) -> Double {
    let count = setup.validationSequences
    let stride = (text.count - setup.context - 1) / count
    let (tokens, labels) = windows(of: text, at: (0..<count).map { $0 * stride })
    let logits = model.logits(tokens, layout: .uniform(count: count, length: setup.context))
    let (loss, _) = SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels)
    return Double(loss) / log(2)
  }
}
