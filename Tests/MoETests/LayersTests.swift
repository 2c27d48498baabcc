import Linalg
import MoE
import Testing
import _TestSupport

@Suite struct LayersTests {
  @Test func linearMatchesPerTokenReference() {
    var g = Xoshiro256StarStar(seed: 1)
    for bias in [false, true] {
      let layer = Linear<Double>(inputDimensions: 5, outputDimensions: 3, bias: bias, using: &g)
      let x = Matrix<Double>.normal(rows: 4, columns: 5, using: &g)
      let y = layer(x)
      for t in 0..<4 {
        let expected = MoEReference.linear(layer, x[row: t])
        #expect(zip(y[row: t], expected).allSatisfy { abs($0 - $1) < 1e-12 })
      }
      #expect(layer.parameterCount == 15 + (bias ? 3 : 0))
    }
  }

  /// A compact (bf16) layer computes what a Float layer with the dequantized weight
  /// computes, trains its bias and adapter the same way, and gives its frozen base no
  /// gradient (QLoRA-style).
  @Test func compactLinearMatchesItsDequantizedTwin() {
    var g = Xoshiro256StarStar(seed: 3)
    var dense = Linear<Float>(inputDimensions: 37, outputDimensions: 21, bias: true, using: &g)
    dense.adapter = LowRankAdapter(inputs: 37, outputs: 21, rank: 3, alpha: 6, using: &g)
    dense.adapter!.up = Parameter(Matrix<Float>.normal(rows: 21, columns: 3, using: &g))
    var compact = dense.converted(to: .bf16)
    dense.weight = Parameter(compact.compactWeight!.dequantized())
    #expect(compact.compactWeight != nil && compact.weight.count == 0)
    #expect(
      compact.outputDimensions == 21 && compact.inputDimensions == 37
        && compact.parameterCount == dense.parameterCount)
    for rows in [1, 5, 12] {
      let x = Matrix<Float>.normal(rows: rows, columns: 37, using: &g)
      let (a, b) = (compact(x), dense(x))
      #expect(zip(a.elements, b.elements).allSatisfy { abs($0 - $1) <= 1e-4 * (1 + abs($1)) }, "\(rows) rows")
      let dy = Matrix<Float>.normal(rows: rows, columns: 21, using: &g)
      dense.weight.isTrainable = false
      let (dxA, dxB) = (compact.backward(dy, input: x), dense.backward(dy, input: x))
      #expect(zip(dxA.elements, dxB.elements).allSatisfy { abs($0 - $1) <= 1e-4 * (1 + abs($1)) })
    }
    #expect(compact.bias!.gradient == dense.bias!.gradient)
    #expect(compact.adapter!.up.gradient == dense.adapter!.up.gradient)
    #expect(compact.adapter!.down.gradient == dense.adapter!.down.gradient)
    #expect(compact.weight.gradient == nil)
    #expect(compact.converted(to: nil).weight.value == dense.weight.value)
  }

  @Test func linearInitialisationIsPyTorchs() {
    var g = Xoshiro256StarStar(seed: 2)
    let layer = Linear<Double>(inputDimensions: 16, outputDimensions: 64, using: &g)
    #expect(layer.weight.value.elements.allSatisfy { abs($0) <= 0.25 })
    #expect(layer.weight.value.elements.map(abs).max()! > 0.24)
  }

  @Test func rmsNormByHand() {
    // Row [3, 4]: mean square 12.5, so y = [3, 4] / √12.5 ⊙ γ.
    var norm = RMSNorm<Double>(dimensions: 2, epsilon: 0)
    norm.weight.value = Matrix([[1, 2]])
    let y = norm(Matrix([[3, 4]]))
    #expect(abs(y[0, 0] - 3 / 12.5.squareRoot()) < 1e-15)
    #expect(abs(y[0, 1] - 8 / 12.5.squareRoot()) < 1e-15)
  }

  @Test func layerNormByHand() {
    // Row [1, 2, 3]: mean 2, population variance 2/3.
    var norm = LayerNorm<Double>(dimensions: 3, epsilon: 0)
    norm.bias.value = Matrix([[0, 1, 0]])
    let y = norm(Matrix([[1, 2, 3]]))
    let s = (2.0 / 3).squareRoot()
    #expect(y.isApproximatelyEqual(to: Matrix([[-1 / s, 1, 1 / s]]), relativeTolerance: 1e-14))
  }

  @Test(arguments: [true, false])
  func feedForwardMatchesPerTokenReference(gated: Bool) {
    var g = Xoshiro256StarStar(seed: 3)
    for activation in [ElementwiseFunction.silu, .gelu, .relu] {
      let network = FeedForward<Double>(
        dimensions: 6, hiddenDimensions: 10, gated: gated, activation: activation, bias: true, using: &g)
      #expect(network.isGated == gated)
      let x = Matrix<Double>.normal(rows: 3, columns: 6, using: &g)
      let y = network(x)
      for t in 0..<3 {
        let expected = MoEReference.feedForward(network, x[row: t])
        #expect(zip(y[row: t], expected).allSatisfy { abs($0 - $1) < 1e-12 }, "\(activation)")
      }
    }
  }
}
