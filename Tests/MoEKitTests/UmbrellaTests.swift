import MoEKit
import Testing

@Suite struct UmbrellaTests {
  @Test func oneImportReachesEveryModule() {
    var g = Xoshiro256StarStar(seed: 1)
    let layer = MoELayer<Float>(
      dimensions: 4, hiddenDimensions: 8,
      router: TopKSoftmaxRouter(dimensions: 4, expertCount: 2, k: 1, using: &g),
      using: &g)
    #expect(layer(Matrix<Float>(rows: 2, columns: 4)).shape == (2, 4))
    #expect(ReferenceArchitectures.llama2_7B.totalParameters == 6_738_415_616)
    #expect(Tensor(Matrix<Float>([[1]]), as: .f32).bytes.count == 4)
    #expect(Format.fixed(1, 1) == "1.0")
  }
}
