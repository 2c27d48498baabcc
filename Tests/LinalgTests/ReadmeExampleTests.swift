import Linalg
import Testing

/// The overview snippet of `Linalg.docc`, kept compiling and checked.
@Suite struct ReadmeExampleTests {
  @Test func glanceSnippetRuns() throws {
    var rng = Xoshiro256StarStar(seed: 42)
    let x = Matrix<Float>.normal(rows: 6, columns: 4, using: &rng)
    let w = Matrix<Float>.glorotUniform(rows: 3, columns: 4, using: &rng)

    var y = Matrix<Float>(rows: 6, columns: 3)
    gemm(x, w, transposeB: true, into: &y)
    let once = y
    gemm(x[rows: 0..<2], w, transposeB: true, beta: 1, into: &y[rows: 0..<2])
    #expect(y[rows: 0..<2].isApproximatelyEqual(to: once[rows: 0..<2] * 2))
    #expect(y[rows: 2..<6] == once[rows: 2..<6])

    let probabilities = y.softmaxRows()
    let top2 = probabilities.topKRows(2)
    let chosen = top2.index(row: 0, rank: 0)
    #expect(chosen == y.rowArgmax()[0])

    let h = y.applying(.silu)
    let svd = try h.singularValueDecomposition()
    #expect(svd.singularValues.count == 3)
  }
}
