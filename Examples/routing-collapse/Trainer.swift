import Linalg
import MoE
import Report

/// The sizes every run shares.
struct Setup {
  var experts: Int
  var topK: Int
  var dimensions: Int
  var layers: Int
  var batch: Int
  var steps: Int
  var learningRate: Double
}

/// A balancing remedy (or none) and the router it needs.
struct Configuration {
  enum Router { case topK, sigmoidWithBias, expertChoice, noisy }

  var name: String
  var router: Router
  var auxiliaryCoefficient: Double?
  var zLossCoefficient: Double?
  var biasUpdateRate: Double?

  var fileName: String {
    String(name.map { $0.isLetter || $0.isNumber ? $0 : "-" })
  }

  static func all(topK: Int) -> [Configuration] {
    [
      Configuration(name: "no balancing", router: .topK),
      Configuration(name: "aux loss α = 0.001", router: .topK, auxiliaryCoefficient: 0.001),
      Configuration(name: "aux loss α = 0.01", router: .topK, auxiliaryCoefficient: 0.01),
      Configuration(name: "aux loss α = 0.1", router: .topK, auxiliaryCoefficient: 0.1),
      Configuration(name: "router z-loss β = 0.001", router: .topK, zLossCoefficient: 0.001),
      Configuration(name: "aux-loss-free bias γ = 0.01", router: .sigmoidWithBias, biasUpdateRate: 0.01),
      Configuration(name: "expert choice (capacity \(topK))", router: .expertChoice),
      Configuration(name: "noisy top-k", router: .noisy),
    ]
  }
}

/// What one run ended with.
struct RunResult {
  var collapsed: Bool
  var finalLoss: Double
  var finalCV: Double
  var finalMaxViolation: Double
  var deadExperts: Int
  var seconds: Double
  /// `[step][layer][expert]` load fractions, when recorded.
  var loadRecord: [[[Double]]]?
}

/// One training run of one configuration with one seed.
struct Trainer {
  var setup: Setup
  var configuration: Configuration
  var seed: UInt64

  func makeStack(using g: inout Xoshiro256StarStar) -> BlockStack<Float> {
    let (d, e, k) = (setup.dimensions, setup.experts, setup.topK)
    return BlockStack<Float>(
      layout: .allMoE(layers: setup.layers), dimensions: d, denseHiddenDimensions: 2 * d, using: &g
    ) {
      _, g in
      let router: any Router<Float>
      switch configuration.router {
      case .topK: router = TopKSoftmaxRouter(dimensions: d, expertCount: e, k: k, using: &g)
      case .sigmoidWithBias:
        router = GroupLimitedRouter(gate: .routerGate(dimensions: d, expertCount: e, using: &g), k: k)
      case .expertChoice:
        router = ExpertChoiceRouter(dimensions: d, expertCount: e, capacityFactor: Double(k), using: &g)
      case .noisy: router = NoisyTopKRouter(dimensions: d, expertCount: e, k: k, using: &g)
      }
      return MoELayer(dimensions: d, hiddenDimensions: 2 * d, router: router, using: &g)
    }
  }

  func train(recordLoads: Bool) -> RunResult {
    let clock = ContinuousClock()
    let start = clock.now
    var g = Xoshiro256StarStar(seed: seed)
    let task = MixtureOfRegressions<Float>(
      clusters: 2 * setup.experts, dimensions: setup.dimensions, using: &g)
    var stack = makeStack(using: &g)
    var optimizer = Adam<Float>()
    let schedule = WarmupCosineSchedule(
      peak: setup.learningRate, warmupSteps: setup.steps / 10, totalSteps: setup.steps)
    var regimen = BalancingRegimen(
      layers: setup.layers,
      auxiliary: configuration.auxiliaryCoefficient.map { LoadBalancingLoss(coefficient: $0) },
      zLoss: configuration.zLossCoefficient.map { RouterZLoss(coefficient: $0) },
      biasUpdate: configuration.biasUpdateRate.map { AuxiliaryLossFreeBalancer(updateRate: $0) })
    var losses: [Double] = []
    var record: [[[Double]]] = []
    var last: [RoutingDiagnostics] = []
    for step in 0..<setup.steps {
      let (x, y) = task.batch(setup.batch, using: &g)
      var context = RoutingContext(isTraining: true, seed: seed &* 1_000_003 &+ UInt64(step))
      let (result, caches) = stack.forwardForTraining(x, context: &context)
      let (loss, dy) = MeanSquaredError.evaluate(result.output, target: y)
      losses.append(Double(loss))
      let routerLosses = regimen.routerLosses(for: result.layers)
      last = result.layers.map { RoutingDiagnostics($0!.stats) }
      if recordLoads { record.append(last.map(\.loadFractions)) }
      stack.zeroGradients()
      _ = stack.backward(dy, caches: caches, routerLosses: routerLosses)
      stack.clipGradients(maxNorm: 1)
      optimizer.update(&stack, learningRate: schedule.learningRate(at: step))
      for (i, layer) in result.layers.enumerated() { regimen.updateBias(of: &stack.blocks[i], result: layer) }
    }
    let tail = losses.suffix(10)
    return RunResult(
      collapsed: regimen.collapsed, finalLoss: tail.reduce(0, +) / Double(tail.count),
      finalCV: last.map(\.coefficientOfVariation).reduce(0, +) / Double(last.count),
      finalMaxViolation: last.map(\.maxViolation).reduce(0, +) / Double(last.count),
      deadExperts: last.map(\.deadExperts).reduce(0, +),
      seconds: Stopwatch.seconds(in: clock.now - start),
      loadRecord: recordLoads ? record : nil)
  }
}
