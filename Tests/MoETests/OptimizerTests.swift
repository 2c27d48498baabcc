import Linalg
import MoE
import Testing
import _TestSupport

@Suite struct OptimizerTests {
  /// A one-layer model whose weight is `value`, with gradient `gradient`.
  func model(_ value: [Double], gradient: [Double]) -> Linear<Double> {
    var layer = Linear<Double>(weight: Matrix(row: value))
    layer.weight.gradient = Matrix(row: gradient)
    return layer
  }

  @Test func sgdWithAndWithoutMomentum() {
    var plain = model([1, 2], gradient: [0.5, -1])
    var sgd = SGD<Double>()
    sgd.update(&plain, learningRate: 0.1)
    #expect(plain.weight.value.isApproximatelyEqual(to: Matrix([[0.95, 2.1]]), relativeTolerance: 1e-15))
    // Momentum 0.9: v₁ = g, v₂ = 0.9g + g = 1.9g.
    var heavy = model([1, 2], gradient: [0.5, -1])
    var momentum = SGD<Double>(momentum: 0.9)
    momentum.update(&heavy, learningRate: 0.1)
    momentum.update(&heavy, learningRate: 0.1)
    #expect(
      heavy.weight.value.isApproximatelyEqual(
        to: Matrix([[1 - 0.05 - 0.095, 2 + 0.1 + 0.19]]), relativeTolerance: 1e-14))
  }

  @Test func adamFirstStepIsTheSignOfTheGradient() {
    // m̂ = g and v̂ = g² after one step, so the update is η·g/(|g| + ε).
    var layer = model([1, 2], gradient: [0.5, -1])
    var adam = Adam<Double>(epsilon: 0)
    adam.update(&layer, learningRate: 0.1)
    #expect(layer.weight.value.isApproximatelyEqual(to: Matrix([[0.9, 2.1]]), relativeTolerance: 1e-14))
  }

  @Test func adamWDecouplesAndAdamL2CouplesTheDecay() {
    var decoupled = model([1, 2], gradient: [0.5, -1])
    var adamW = Adam<Double>.adamW(epsilon: 0, weightDecay: 0.5)
    adamW.update(&decoupled, learningRate: 0.1)
    // θ − η(sign g + λθ) = [1 − 0.1(1 + 0.5), 2 − 0.1(−1 + 1)].
    #expect(decoupled.weight.value.isApproximatelyEqual(to: Matrix([[0.85, 2]]), relativeTolerance: 1e-14))
    var coupled = model([1, 2], gradient: [0.5, -1])
    var adam = Adam<Double>(epsilon: 1e-12, weightDecay: 0.5)
    adam.update(&coupled, learningRate: 0.1)
    // L2: g + λθ = [1, 0], so the first weight moves by η and the second not at all.
    #expect(coupled.weight.value.isApproximatelyEqual(to: Matrix([[0.9, 2]]), relativeTolerance: 1e-12))
  }

  @Test func frozenAndGradientlessParametersStay() {
    var layer = model([1, 2], gradient: [0.5, -1])
    layer.weight.isTrainable = false
    var adam = Adam<Double>()
    adam.update(&layer, learningRate: 0.1)
    #expect(layer.weight.value.elements == [1, 2])
    var fresh = Linear<Double>(weight: Matrix([[3]]))
    adam.update(&fresh, learningRate: 0.1)
    #expect(fresh.weight.value.elements == [3])
  }

  @Test func globalNormClipping() {
    var layer = Linear<Double>(weight: Matrix([[0]]), bias: Matrix([[0]]))
    layer.weight.gradient = Matrix([[3]])
    layer.bias!.gradient = Matrix([[4]])
    #expect(layer.clipGradients(maxNorm: 1) == 5)
    #expect(abs(layer.weight.gradient![0, 0] - 0.6) < 1e-15 && abs(layer.bias!.gradient![0, 0] - 0.8) < 1e-15)
    #expect(layer.clipGradients(maxNorm: 10) == 1)  // below the limit: untouched
  }

  @Test func warmupCosineSchedule() {
    let s = WarmupCosineSchedule(peak: 1, warmupSteps: 2, totalSteps: 6, minimum: 0)
    #expect(s.learningRate(at: 0) == 0.5 && s.learningRate(at: 1) == 1)
    #expect(s.learningRate(at: 2) == 1)
    #expect(abs(s.learningRate(at: 4) - 0.5) < 1e-15)
    #expect(s.learningRate(at: 6) == 0 && s.learningRate(at: 100) == 0)
  }

  @Test func adamFitsALinearMap() {
    // y = x·Aᵀ for a fixed A: a few hundred Adam steps bring the MSE near zero.
    var g = Xoshiro256StarStar(seed: 1)
    let target = Linear<Double>(inputDimensions: 4, outputDimensions: 3, bias: false, using: &g)
    var layer = Linear<Double>(inputDimensions: 4, outputDimensions: 3, using: &g)
    var adam = Adam<Double>()
    var last = Double.infinity
    for step in 0..<300 {
      let x = Matrix<Double>.normal(rows: 16, columns: 4, using: &g)
      let (loss, gradient) = MeanSquaredError.evaluate(layer(x), target: target(x))
      layer.zeroGradients()
      _ = layer.backward(gradient, input: x)
      adam.update(&layer, learningRate: 0.05)
      if step == 299 { last = loss }
    }
    #expect(last < 1e-3, "final loss \(last)")
  }
}

@Suite struct TrainingReadmeExampleTests {
  /// The "Training" loop of `MoE.docc` on a small regression.
  @Test func glanceLoopLowersTheLoss() {
    var rng = Xoshiro256StarStar(seed: 3)
    var stack = BlockStack<Float>(
      layout: .allMoE(layers: 2), dimensions: 32, denseHiddenDimensions: 64, using: &rng
    ) {
      _, g in
      MoELayer(
        dimensions: 32, hiddenDimensions: 64,
        router: TopKSoftmaxRouter(dimensions: 32, expertCount: 8, k: 2, using: &g), using: &g)
    }
    let x = Matrix<Float>.normal(rows: 32, columns: 32, using: &rng)
    let y = x.applying(.sigmoid)
    var adam = Adam<Float>()
    let balance = LoadBalancingLoss(coefficient: 0.01)
    var losses: [Float] = []
    for step in 0..<100 {
      var context = RoutingContext(isTraining: true, seed: UInt64(step))
      let (result, caches) = stack.forwardForTraining(x, context: &context)
      let (loss, dy) = MeanSquaredError.evaluate(result.output, target: y)
      losses.append(loss)
      let routerLosses = result.layers.map { layer in
        layer.map { RouterLossGradient(probabilities: balance.evaluate($0.decision).probabilityGradient) }
      }
      stack.zeroGradients()
      _ = stack.backward(dy, caches: caches, routerLosses: routerLosses)
      stack.clipGradients(maxNorm: 1)
      adam.update(&stack, learningRate: 1e-3)
    }
    #expect(losses.last! < 0.5 * losses.first!, "loss \(losses.first!) → \(losses.last!)")
    stack.setTrainable { $0.contains(".router.") }
    #expect(
      stack.namedParameters.filter(\.parameter.isTrainable).allSatisfy {
        $0.name.hasSuffix("router.gate.weight")
      })
  }
}
