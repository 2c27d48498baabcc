import Linalg
import MoE
import Testing
import _TestSupport

@Suite struct BlockStackTests {
  @Test func layoutsFollowTheModelsRules() {
    // DeepSeek-MoE 16B: 28 layers, first dense, then every layer MoE.
    let deepSeek = StackLayout.firstDense(layers: 28, firstDenseLayers: 1)
    #expect(deepSeek.isMoE.first == false && deepSeek.isMoE.dropFirst().allSatisfy { $0 })
    #expect(
      StackLayout.firstDense(layers: 6, firstDenseLayers: 1, moeLayerFrequency: 2).isMoE == [
        false, false, true, false, true, false,
      ])
    // Qwen2-MoE: (i + 1) % step == 0, minus mlp_only_layers.
    #expect(
      StackLayout.everyMth(layers: 6, decoderSparseStep: 2, mlpOnlyLayers: [3]).isMoE == [
        false, true, false, false, false, true,
      ])
    #expect(StackLayout.allMoE(layers: 2).isMoE == [true, true])
    #expect(StackLayout.dense(layers: 2).layerCount == 2)
  }

  @Test func stackWithDenseFirstLayersIsTheComposedResidualBlocks() {
    var g = Xoshiro256StarStar(seed: 11)
    let (d, h) = (6, 8)
    let stack = BlockStack<Double>(
      layout: .firstDense(layers: 4, firstDenseLayers: 2), dimensions: d, denseHiddenDimensions: 10, using: &g
    ) { _, g in
      MoELayer(
        dimensions: d, hiddenDimensions: h,
        router: TopKSoftmaxRouter(dimensions: d, expertCount: 4, k: 2, using: &g),
        sharedHiddenDimensions: 4, using: &g)
    }
    #expect(stack.layout.isMoE == [false, false, true, true])
    let x = Matrix<Double>.normal(rows: 5, columns: d, using: &g)
    var context = RoutingContext()
    let result = stack.forward(x, context: &context)
    #expect(result.layers.map { $0 != nil } == [false, false, true, true])

    // The same computation by hand: h ← h + ffn(rmsnorm(h)), token by token for MoE layers.
    var expected = x
    for (block, layer) in zip(stack.blocks, result.layers) {
      let normalized = block.feedForwardNorm(expected)
      switch block.feedForward {
      case .dense(let network):
        expected = expected + network(normalized)
      case .moe(let moe):
        let y = MoEReference.moe(moe, normalized, decision: layer!.decision, capacity: nil)
        expected = expected + Matrix(y)
      }
    }
    #expect(result.output.isApproximatelyEqual(to: expected, relativeTolerance: 1e-12))
  }
}
