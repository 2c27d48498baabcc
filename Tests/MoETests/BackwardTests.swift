import Foundation
import Linalg
import MoE
import Testing
import _TestSupport

/// Every backward pass against central finite differences in `Double`.
@Suite struct BackwardTests {
  static let tolerance = 1e-6

  func random(_ rows: Int, _ columns: Int, seed: UInt64, scale: Double = 1) -> Matrix<Double> {
    Reference.randomMatrix(Double.self, rows: rows, columns: columns, seed: seed) * scale
  }

  /// Checks `∂L/∂x` and every parameter's gradient of a layer with `forward` and
  /// `backward(dy, x) -> dx`.
  func check<Layer: ParameterContainer>(
    _ layer: Layer, input x: Matrix<Double>, outputs: Int, _ label: String,
    forward: @escaping (Layer, Matrix<Double>) -> Matrix<Double>,
    backward: @escaping (inout Layer, Matrix<Double>, Matrix<Double>) -> Matrix<Double>
  ) where Layer.Scalar == Double {
    let r = random(x.rows, outputs, seed: 99)
    var copy = layer
    let dx = backward(&copy, r, x)
    let numeric = GradientCheck.numericalGradient(at: x) { GradientCheck.projection(forward(layer, $0), r) }
    #expect(GradientCheck.relativeError(dx, numeric) < Self.tolerance, "\(label): ∂x")
    for (name, error) in GradientCheck.parameterErrors(
      layer, projection: r, forward: { forward($0, x) }, backward: { _ = backward(&$0, $1, x) })
    {
      #expect(error < Self.tolerance, "\(label): \(name) relative error \(error)")
    }
  }

  @Test(arguments: [false, true])
  func linear(bias: Bool) {
    var g = Xoshiro256StarStar(seed: 1)
    let layer = Linear<Double>(inputDimensions: 4, outputDimensions: 3, bias: bias, using: &g)
    check(layer, input: random(5, 4, seed: 2), outputs: 3, "Linear bias \(bias)") {
      $0($1)
    } backward: {
      $0.backward($1, input: $2)
    }
  }

  @Test func rmsNorm() {
    var norm = RMSNorm<Double>(dimensions: 5, epsilon: 1e-6)
    norm.weight.value = random(1, 5, seed: 3)
    check(norm, input: random(4, 5, seed: 4), outputs: 5, "RMSNorm") {
      $0($1)
    } backward: {
      $0.backward($1, input: $2)
    }
  }

  @Test func layerNorm() {
    var norm = LayerNorm<Double>(dimensions: 5)
    norm.weight.value = random(1, 5, seed: 5)
    norm.bias.value = random(1, 5, seed: 6)
    check(norm, input: random(4, 5, seed: 7), outputs: 5, "LayerNorm") {
      $0($1)
    } backward: {
      $0.backward($1, input: $2)
    }
  }

  @Test(arguments: ElementwiseFunction.allCases)
  func activationDerivative(_ f: ElementwiseFunction) {
    // Away from relu's kink at 0.
    for x in [-6.0, -2.5, -0.7, -0.1, 0.3, 1.1, 4.0, 9.0] {
      let h = 1e-6
      let numeric = (f(x + h) - f(x - h)) / (2 * h)
      let error = abs(f.derivative(x) - numeric) / max(abs(numeric), 1e-8)
      #expect(error < Self.tolerance, "\(f)′(\(x)) = \(f.derivative(x)), numeric \(numeric)")
    }
  }

  @Test(arguments: [true, false], ElementwiseFunction.allCases)
  func feedForward(gated: Bool, activation: ElementwiseFunction) {
    var g = Xoshiro256StarStar(seed: 8)
    let network = FeedForward<Double>(
      dimensions: 4, hiddenDimensions: 6, gated: gated, activation: activation, bias: true, using: &g)
    check(
      network, input: random(3, 4, seed: 9, scale: 2), outputs: 4, "FeedForward gated \(gated) \(activation)"
    ) {
      $0($1)
    } backward: { network, dy, x in
      network.backward(dy, cache: network.forwardForTraining(x).cache)
    }
  }

  /// gpt-oss's clamped unit, with a limit some gate and up values pass (where its
  /// derivatives are zero).
  @Test func clampedSwiGLUFeedForward() {
    var g = Xoshiro256StarStar(seed: 8)
    var network = FeedForward<Double>(dimensions: 4, hiddenDimensions: 6, bias: true, using: &g)
    network.clamp = ClampedSwiGLU(alpha: 1.702, limit: 0.9)
    let x = random(5, 4, seed: 9, scale: 2)
    let (gate, up) = (network.gate!(x), network.up(x))
    #expect(gate.elements.contains { $0 > 0.9 } && up.elements.contains { abs($0) > 0.9 })
    // The formula, by explicit loops.
    var hidden = Matrix<Double>(rows: 5, columns: 6)
    for i in 0..<5 {
      for j in 0..<6 {
        let c = min(gate[i, j], 0.9)
        hidden[i, j] = (min(max(up[i, j], -0.9), 0.9) + 1) * c / (1 + Foundation.exp(-1.702 * c))
      }
    }
    #expect(
      network(x).isApproximatelyEqual(
        to: network.down(hidden), absoluteTolerance: 1e-14, relativeTolerance: 1e-13))
    check(network, input: x, outputs: 4, "FeedForward clamped SwiGLU") {
      $0($1)
    } backward: { network, dy, x in
      network.backward(dy, cache: network.forwardForTraining(x).cache)
    }
  }

  @Test func frozenParametersGetNoGradient() {
    var g = Xoshiro256StarStar(seed: 10)
    var network = FeedForward<Double>(dimensions: 4, hiddenDimensions: 6, using: &g)
    network.setTrainable { $0.hasPrefix("down") }
    let x = random(3, 4, seed: 11)
    _ = network.backward(random(3, 4, seed: 12), cache: network.forwardForTraining(x).cache)
    let gradients = network.namedParameters.map { ($0.name, $0.parameter.gradient != nil) }
    #expect(gradients.map(\.0) == ["gate.weight", "up.weight", "down.weight"])
    #expect(gradients.map(\.1) == [false, false, true])
    #expect(network.parameterCount(trainableOnly: true) == 24)
    #expect(network.parameterCount() == 72)
  }
}

/// The MoE layer's backward pass for every router, with and without shared experts and
/// capacity drops, against central differences.
@Suite struct MoEBackwardTests {
  /// Experts with gpt-oss's clamped unit run it in the grouped forward (equal to the
  /// per-token reference) and its derivatives in the grouped backward.
  @Test func clampedSwiGLUExperts() {
    var layer = MoELayerTests.layer(.topK, shared: .none, capacityFactor: nil, seed: 23)
    for e in layer.experts.indices { layer.experts[e].clamp = ClampedSwiGLU(alpha: 1.702, limit: 0.8) }
    let x = Reference.randomMatrix(Double.self, rows: 7, columns: MoELayerTests.d, seed: 24) * 2
    var context = RoutingContext()
    var workspace = MoEWorkspace<Double>()
    let result = layer.forward(x, context: &context, workspace: &workspace)
    let expected = MoEReference.moe(layer, x, decision: result.decision, capacity: nil)
    #expect(Reference.maxRelativeError(result.output, expected) < 1e-12)
    BackwardTests().check(layer, input: x, outputs: MoELayerTests.d, "clamped experts") { layer, x in
      var c = RoutingContext(isTraining: true)
      return layer.forwardForTraining(x, context: &c).result.output
    } backward: { layer, dy, x in
      var c = RoutingContext(isTraining: true)
      return layer.backward(dy, cache: layer.forwardForTraining(x, context: &c).cache)
    }
  }

  @Test(arguments: MoELayerTests.RouterKind.allCases, MoELayerTests.SharedKind.allCases)
  func moeLayer(kind: MoELayerTests.RouterKind, shared: MoELayerTests.SharedKind) {
    for capacityFactor in [nil, 0.75] as [Double?] {
      let layer = MoELayerTests.layer(kind, shared: shared, capacityFactor: capacityFactor, seed: 21)
      let x = Reference.randomMatrix(Double.self, rows: 7, columns: MoELayerTests.d, seed: 22) * 2
      let label = "\(kind) shared \(shared) cf \(String(describing: capacityFactor))"
      func context() -> RoutingContext {
        RoutingContext(isTraining: true, seed: 5, tokenIDs: (0..<7).map { $0 * 3 % 50 })
      }
      BackwardTests().check(layer, input: x, outputs: MoELayerTests.d, label) { layer, x in
        var c = context()
        return layer.forwardForTraining(x, context: &c).result.output
      } backward: { layer, dy, x in
        var c = context()
        let cache = layer.forwardForTraining(x, context: &c).cache
        return layer.backward(dy, cache: cache)
      }
    }
  }

  /// Experts held compact (q8, a frozen base as for QLoRA-style fine-tuning) back-propagate
  /// through their dequantized weights: the input and router gradients equal those of the
  /// same layer holding the dequantized weights as floats (the compact forward keeps its
  /// activations in Float, so both forwards compute the same products).
  @Test(arguments: [WeightMatrix.Format.q8, .q4, .bf16])
  func compactExpertsBackpropagateThroughTheirWeights(format: WeightMatrix.Format) {
    var g = Xoshiro256StarStar(seed: 41)
    let float = MoELayer<Float>(
      dimensions: 32, hiddenDimensions: 48,
      router: TopKSoftmaxRouter(dimensions: 32, expertCount: 4, k: 2, using: &g), using: &g)
    var compact = float
    compact.experts = float.experts.map { $0.converted(to: format, integerDotProducts: false) }
    var expanded = float
    expanded.experts = compact.experts.map { $0.converted(to: nil) }
    expanded.setTrainable(where: { !$0.hasPrefix("experts.") })
    let x = Matrix<Float>.normal(rows: 10, columns: 32, using: &g)
    let dy = Matrix<Float>.normal(rows: 10, columns: 32, using: &g)
    func gradients(_ layer: inout MoELayer<Float>) -> (Matrix<Float>, Matrix<Float>) {
      var context = RoutingContext(isTraining: true)
      let cache = layer.forwardForTraining(x, context: &context).cache
      let dx = layer.backward(dy, cache: cache)
      let router = layer.namedParameters.first { $0.name.hasPrefix("router.") }!
      return (dx, router.parameter.gradient!)
    }
    let (dxCompact, dRouterCompact) = gradients(&compact)
    let (dxExpanded, dRouterExpanded) = gradients(&expanded)
    // The forward passes multiply with different kernels (compact bytes against dequantized
    // floats): they round differently at Float precision, nothing more.
    #expect(dxCompact.isApproximatelyEqual(to: dxExpanded, absoluteTolerance: 1e-5, relativeTolerance: 1e-4))
    #expect(
      dRouterCompact.isApproximatelyEqual(
        to: dRouterExpanded, absoluteTolerance: 1e-5, relativeTolerance: 1e-4))
  }

  @Test func trainingForwardEqualsInferenceForward() {
    let layer = MoELayerTests.layer(.topK, shared: .qwen, capacityFactor: 0.75, seed: 23)
    let x = Reference.randomMatrix(Double.self, rows: 9, columns: MoELayerTests.d, seed: 24)
    var a = RoutingContext()
    var b = RoutingContext()
    var workspace = MoEWorkspace<Double>()
    let training = layer.forwardForTraining(x, context: &a).result.output
    #expect(
      training.isApproximatelyEqual(
        to: layer.forward(x, context: &b, workspace: &workspace).output, relativeTolerance: 1e-14))
  }

  @Test(arguments: [MoELayerTests.RouterKind.topK, .deepSeekV3, .expertChoice])
  func balancingLossGradientsReachTheRouter(kind: MoELayerTests.RouterKind) {
    let layer = MoELayerTests.layer(kind, shared: .none, capacityFactor: nil, seed: 25)
    let x = Reference.randomMatrix(Double.self, rows: 6, columns: MoELayerTests.d, seed: 26)
    let r = Reference.randomMatrix(Double.self, rows: 6, columns: MoELayerTests.d, seed: 27)
    let balance = LoadBalancingLoss(coefficient: 0.5)
    let z = RouterZLoss(coefficient: 0.3)
    let sequence = SequenceBalanceLoss(coefficient: 0.7)
    func loss(_ layer: MoELayer<Double>, _ x: Matrix<Double>) -> Double {
      var c = RoutingContext()
      let result = layer.forwardForTraining(x, context: &c).result
      return GradientCheck.projection(result.output, r) + balance.evaluate(result.decision).loss
        + z.evaluate(result.decision).loss + sequence.evaluate(result.decision, sequenceLength: 3, k: 2).loss
    }
    var analytic = layer
    var c = RoutingContext()
    let (result, cache) = layer.forwardForTraining(x, context: &c)
    let dp =
      balance.evaluate(result.decision).probabilityGradient
      + sequence.evaluate(result.decision, sequenceLength: 3, k: 2).probabilityGradient
    let dx = analytic.backward(
      r, cache: cache,
      routerLoss: RouterLossGradient(probabilities: dp, logits: z.evaluate(result.decision).logitGradient))
    let numericX = GradientCheck.numericalGradient(at: x) { loss(layer, $0) }
    #expect(GradientCheck.relativeError(dx, numericX) < BackwardTests.tolerance, "\(kind): ∂x")
    let gate = analytic.namedParameters.first { $0.name == "router.gate.weight" }!
    let numericGate = GradientCheck.numericalGradient(at: gate.parameter.value) { value in
      var perturbed = layer
      perturbed.visitParameters(prefix: "") { name, p in if name == "router.gate.weight" { p.value = value } }
      return loss(perturbed, x)
    }
    #expect(
      GradientCheck.relativeError(gate.parameter.gradient!, numericGate) < BackwardTests.tolerance,
      "\(kind): gate")
  }

  @Test func parameterNamesFollowTheHuggingFaceLayout() {
    var layer = MoELayerTests.layer(.noisy, shared: .qwen, capacityFactor: nil, seed: 28)
    var names: [String] = []
    layer.visitParameters(prefix: "layers.3.moe") { name, _ in names.append(name) }
    #expect(names.first == "layers.3.moe.router.gate.weight")
    #expect(names.contains("layers.3.moe.router.noise.weight"))
    #expect(names.contains("layers.3.moe.experts.3.down.weight"))
    #expect(names.contains("layers.3.moe.shared_expert.up.weight"))
    #expect(names.last == "layers.3.moe.shared_expert_gate.weight")
  }
}

@Suite struct StackBackwardTests {
  @Test func stackOfDenseAndMoEBlocks() {
    var g = Xoshiro256StarStar(seed: 31)
    let (d, h) = (4, 5)
    let stack = BlockStack<Double>(
      layout: .firstDense(layers: 3, firstDenseLayers: 1), dimensions: d, denseHiddenDimensions: 6, using: &g
    ) { layer, g in
      MoELayer(
        dimensions: d, hiddenDimensions: h,
        router: layer == 1
          ? TopKSoftmaxRouter(dimensions: d, expertCount: 4, k: 2, using: &g) as any Router<Double>
          : GroupLimitedRouter(
            gate: .routerGate(dimensions: d, expertCount: 4, using: &g), k: 2, groupCount: 2, topKGroup: 1),
        sharedHiddenDimensions: 3, gatedSharedExpert: layer == 2, using: &g)
    }
    var names: [String] = []
    var copy = stack
    copy.visitParameters(prefix: "") { name, _ in names.append(name) }
    #expect(names.contains("layers.0.mlp.up.weight") && names.contains("layers.2.moe.experts.3.gate.weight"))
    #expect(names.contains("layers.1.norm.weight"))
    let x = Reference.randomMatrix(Double.self, rows: 5, columns: d, seed: 32)
    BackwardTests().check(stack, input: x, outputs: d, "stack") { stack, x in
      var c = RoutingContext()
      return stack.forwardForTraining(x, context: &c).result.output
    } backward: { stack, dy, x in
      var c = RoutingContext()
      let caches = stack.forwardForTraining(x, context: &c).caches
      return stack.backward(dy, caches: caches)
    }
  }
}
