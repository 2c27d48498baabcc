import Linalg
import Testing

@Suite struct GatherScatterTests {
  @Test func gatherPicksRowsInOrder() {
    let x = Matrix<Float>([[1, 1], [2, 2], [3, 3]])
    #expect(x.gatheringRows([2, 0, 2]).nestedRows == [[3, 3], [1, 1], [3, 3]])
    #expect(x.gatheringRows([]).shape == (0, 2))
    var out = Matrix<Float>(rows: 5, columns: 2, repeating: -1)
    x.gatherRows([1, 0], into: &out[rows: 2..<4])
    #expect(out.nestedRows == [[-1, -1], [-1, -1], [2, 2], [1, 1], [-1, -1]])
  }

  @Test func scatterAddAccumulatesWeightedRows() {
    var y = Matrix<Double>(rows: 3, columns: 2)
    let expertOutputs = Matrix<Double>([[1, 2], [10, 20], [100, 200]])
    y.scatterAddRows(expertOutputs, to: [2, 0, 2], weights: [0.5, 1, 0.25])
    #expect(y.nestedRows == [[10, 20], [0, 0], [25.5, 51]])
    y.scatterAddRows(Matrix([[1, 1]]), to: [1])
    #expect(y[row: 1] == [1, 1])
  }

  @Test func badIndicesTrap() async {
    await #expect(processExitsWith: .failure) {
      _ = Matrix<Float>(rows: 2, columns: 2).gatheringRows([2])
    }
    await #expect(processExitsWith: .failure) {
      var y = Matrix<Float>(rows: 2, columns: 2)
      y.scatterAddRows(Matrix(rows: 1, columns: 2), to: [-1])
    }
  }
}
