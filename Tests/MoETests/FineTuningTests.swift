import Linalg
import MoE
import Testing
import _TestSupport

/// Freezing rules: frozen parameters never get a gradient, trainable ones get exactly the
/// gradient the fully trainable layer computes, and new experts grow the router.
@Suite struct FineTuningTests {
  static let rules: [FineTuningRule] = [
    .full, .routerOnly, .routerAndMostUsedExperts(2), .routerAndNewExperts(2),
  ]

  @Test(arguments: rules)
  func frozenParametersGetNoGradientAndTrainableOnesTheFullGradient(rule: FineTuningRule) {
    var g = Xoshiro256StarStar(seed: 71)
    let layer = MoELayer<Double>(
      dimensions: 6, hiddenDimensions: 5,
      router: TopKSoftmaxRouter(dimensions: 6, expertCount: 5, k: 2, using: &g),
      sharedHiddenDimensions: 4, using: &g)
    let x = Matrix<Double>.normal(rows: 24, columns: 6, using: &g)
    let dy = Matrix<Double>.normal(rows: 24, columns: 6, using: &g)
    var prepared = rule.prepare(layer, taskData: x, using: &g)
    // Adapters start with B = 0; make them matter before comparing gradients.
    prepared.visitParameters(prefix: "") { name, p in
      if name.hasSuffix("lora_B.weight") {
        p.value = Matrix.normal(rows: p.value.rows, columns: p.value.columns, using: &g)
      }
    }
    var reference = prepared
    reference.setTrainable { _ in true }
    var context = RoutingContext()
    let (_, cache) = prepared.forwardForTraining(x, context: &context)
    _ = prepared.backward(dy, cache: cache, needsInputGradient: rule == .full)
    _ = reference.backward(dy, cache: cache)
    let full = Dictionary(uniqueKeysWithValues: reference.namedParameters.map { ($0.name, $0.parameter) })
    var trainable = 0
    for (name, parameter) in prepared.namedParameters {
      if parameter.isTrainable {
        trainable += 1
        let expected =
          full[name]!.gradient ?? Matrix(rows: parameter.value.rows, columns: parameter.value.columns)
        let actual =
          parameter.gradient ?? Matrix(rows: parameter.value.rows, columns: parameter.value.columns)
        #expect(
          actual.isApproximatelyEqual(to: expected, absoluteTolerance: 1e-14, relativeTolerance: 1e-12),
          "\(rule) \(name)")
      } else {
        #expect(parameter.gradient == nil, "\(rule): frozen \(name) got a gradient")
      }
    }
    switch rule {
    case .full: #expect(trainable == prepared.namedParameters.count)
    case .routerOnly: #expect(trainable == 1)
    case .routerAndMostUsedExperts(let k), .routerAndNewExperts(let k): #expect(trainable == 1 + 3 * k)
    case .routerAndAdapters(_, let k): #expect(trainable == 1 + 2 * 3 * k)  // A and B on gate, up, down
    }
  }

  @Test func newExpertsGrowTheRouterAndKeepTheOldOnes() {
    var g = Xoshiro256StarStar(seed: 72)
    let layer = MoELayer<Double>(
      dimensions: 6, hiddenDimensions: 5,
      router: TopKSoftmaxRouter(dimensions: 6, expertCount: 5, k: 2, using: &g),
      using: &g)
    let grown = FineTuningRule.routerAndNewExperts(3).prepare(
      layer, taskData: Matrix(rows: 1, columns: 6), using: &g)
    #expect(grown.expertCount == 8 && grown.router.expertCount == 8)
    #expect(grown.experts[4].up.weight.value == layer.experts[4].up.weight.value)
    let oldGate = (layer.router as! TopKSoftmaxRouter<Double>).gate.weight.value
    #expect((grown.router as! TopKSoftmaxRouter<Double>).gate.weight.value[rows: 0..<5] == oldGate)
  }
}

@Suite struct LowRankAdapterTests {
  /// With `B = 0` an adapter changes nothing; otherwise `A`, `B` and `∂x` match central
  /// differences, alone on a `Linear` and inside a MoE layer's grouped experts (whose
  /// forward also matches the per-token reference).
  /// Adapters draw their `A` from the generator expert by expert, in expert order, so a seed
  /// gives the same adapters in every run (a set's order differs between processes).
  @Test func adaptersAreDrawnInExpertOrder() {
    var g = Xoshiro256StarStar(seed: 91)
    let layer = MoELayer<Double>(
      dimensions: 5, hiddenDimensions: 4,
      router: TopKSoftmaxRouter(dimensions: 5, expertCount: 6, k: 2, using: &g), using: &g)
    let x = Matrix<Double>.normal(rows: 40, columns: 5, using: &g)
    var drawn = Xoshiro256StarStar(seed: 92)
    let prepared = FineTuningRule.routerAndAdapters(rank: 2, experts: 5).prepare(
      layer, taskData: x, using: &drawn)
    let adapted = prepared.experts.indices.filter { prepared.experts[$0].up.adapter != nil }
    #expect(adapted.count == 5)
    var expected = Xoshiro256StarStar(seed: 92)
    for e in adapted {
      for projection in [\FeedForward<Double>.up, \.down, \.gate!] {
        let linear = layer.experts[e][keyPath: projection]
        let adapter = LowRankAdapter<Double>(
          inputs: linear.inputDimensions, outputs: linear.outputDimensions, rank: 2, using: &expected)
        #expect(
          prepared.experts[e][keyPath: projection].adapter!.down.value == adapter.down.value, "expert \(e)")
      }
    }
  }

  @Test func adaptersMatchCentralDifferencesAndTheReference() {
    var g = Xoshiro256StarStar(seed: 81)
    var linear = Linear<Double>(inputDimensions: 5, outputDimensions: 4, using: &g)
    let x = Matrix<Double>.normal(rows: 6, columns: 5, using: &g)
    let plain = linear(x)
    linear.adapter = LowRankAdapter(inputs: 5, outputs: 4, rank: 2, alpha: 4, using: &g)
    #expect(linear(x) == plain)
    linear.adapter!.up.value = Matrix.normal(rows: 4, columns: 2, using: &g)
    let r = Matrix<Double>.normal(rows: 6, columns: 4, using: &g)
    let errors = GradientCheck.parameterErrors(
      linear, projection: r, forward: { $0(x) }, backward: { m, dy in _ = m.backward(dy, input: x) })
    #expect(errors.map(\.name) == ["weight", "bias", "lora_A.weight", "lora_B.weight"])
    for (name, error) in errors { #expect(error < 1e-7, "\(name)") }
    var copy = linear
    let dx = copy.backward(r, input: x)
    let numeric = GradientCheck.numericalGradient(at: x) { GradientCheck.projection(linear($0), r) }
    #expect(GradientCheck.relativeError(dx, numeric) < 1e-7)

    var layer = MoELayer<Double>(
      dimensions: 5, hiddenDimensions: 4,
      router: TopKSoftmaxRouter(dimensions: 5, expertCount: 3, k: 2, using: &g),
      using: &g)
    layer = FineTuningRule.routerAndAdapters(rank: 2, experts: 2).prepare(layer, taskData: x, using: &g)
    layer.setTrainable { _ in true }
    layer.visitParameters(prefix: "") { name, p in
      if name.hasSuffix("lora_B.weight") {
        p.value = Matrix.normal(rows: p.value.rows, columns: p.value.columns, using: &g)
      }
    }
    var context = RoutingContext()
    var workspace = MoEWorkspace<Double>()
    let result = layer.forward(x, context: &context, workspace: &workspace)
    let expected = MoEReference.moe(layer, x, decision: result.decision, capacity: nil)
    #expect(Reference.maxRelativeError(result.output, expected) < 1e-12)
    let dy = Matrix<Double>.normal(rows: 6, columns: 5, using: &g)
    let layerErrors = GradientCheck.parameterErrors(
      layer, projection: dy, forward: { $0(x) },
      backward: { m, d in
        var c = RoutingContext()
        _ = m.backward(d, cache: m.forwardForTraining(x, context: &c).cache)
      })
    #expect(layerErrors.contains { $0.name.contains("lora_A") })
    for (name, error) in layerErrors { #expect(error < 1e-6, "\(name)") }
  }
}
