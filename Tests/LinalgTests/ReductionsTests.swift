import Linalg
import Testing

@Suite struct ReductionsTests {
  /// `max|a − b| / max|b|`, by hand: infinite for a NaN or another shape.
  @Test func largestDifferenceRelativeToTheReference() {
    let reference = Matrix<Float>(rows: 2, columns: 2, elements: [1, -4, 2, 0.5])
    let other = Matrix<Float>(rows: 2, columns: 2, elements: [1.5, -4, 2, 0.25])
    #expect(other.largestDifference(relativeTo: reference) == 0.5 / 4)
    #expect(reference.largestDifference(relativeTo: reference) == 0)
    var broken = other
    broken[1, 1] = .nan
    #expect(broken.largestDifference(relativeTo: reference) == .infinity)
    #expect(Matrix<Float>(rows: 1, columns: 4).largestDifference(relativeTo: reference) == .infinity)
  }

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
