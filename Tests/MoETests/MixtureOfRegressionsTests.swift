import Linalg
import MoE
import Testing

@Suite struct MixtureOfRegressionsTests {
  /// Every target is its input through one of the clusters' maps, and the input lies near
  /// that cluster's centre; the same seed gives the same batch.
  @Test func targetsAreTheirClustersMaps() {
    var g = Xoshiro256StarStar(seed: 1)
    let task = MixtureOfRegressions<Double>(clusters: 3, dimensions: 4, using: &g)
    var h = g
    let (x, y) = task.batch(20, using: &g)
    #expect(task.batch(20, using: &h).y == y)
    for t in 0..<20 {
      let row = x[rows: t..<t + 1]
      let clusters = (0..<3).filter { matmul(row, task.maps[$0], transposeB: true) == y[rows: t..<t + 1] }
      #expect(clusters.count == 1, "token \(t)")
      if let c = clusters.first { #expect((row - task.centres[c]).norm < 0.5 * 8) }
    }
  }
}
