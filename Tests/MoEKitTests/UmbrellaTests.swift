import MoEKit
import Testing

@Suite struct UmbrellaTests {
  /// The README's library snippet, then one symbol of each other module.
  @Test func oneImportReachesEveryModule() {
    var g = Xoshiro256StarStar(seed: 1)
    let layer = MoELayer<Float>(
      dimensions: 64, hiddenDimensions: 128,
      router: TopKSoftmaxRouter(dimensions: 64, expertCount: 8, k: 2, using: &g), using: &g)
    let y = layer(Matrix<Float>.normal(rows: 16, columns: 64, using: &g))  // 16 tokens × 64
    #expect(y.shape == (16, 64) && y.elements.allSatisfy(\.isFinite))
    #expect(ReferenceArchitectures.llama2_7B.totalParameters == 6_738_415_616)
    #expect(Tensor(Matrix<Float>([[1]]), as: .f32).bytes.count == 4)
    #expect(Format.fixed(1, 1) == "1.0")
  }
}
