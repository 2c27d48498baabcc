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
