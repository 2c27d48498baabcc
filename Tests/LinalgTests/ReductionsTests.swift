import Linalg
import Testing

@Suite struct ReductionsTests {
  @Test func sumsAndMeans() {
    let x = Matrix<Double>([[1, 2, 3], [4, 5, 6]])
    #expect(x.rowSums() == [6, 15])
    #expect(x.columnSums() == [5, 7, 9])
    #expect(x.rowMeans() == [2, 5])
    #expect(x.columnMeans() == [2.5, 3.5, 4.5])
    #expect(Matrix<Float>(rows: 0, columns: 2).columnSums() == [0, 0])
  }

  @Test func argmaxPrefersTheLowerIndexAndSkipsNaN() {
    let x = Matrix<Float>([[1, 3, 3], [.nan, -1, -2], [.nan, .nan, .nan], [-.infinity, -.infinity, -5]])
    #expect(x.rowArgmax() == [1, 1, 0, 2])
    let m = x.rowMax()
    #expect(m[0] == 3 && m[1] == -1 && m[2].isNaN && m[3] == -5)
  }
}
