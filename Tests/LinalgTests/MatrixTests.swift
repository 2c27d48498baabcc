import Linalg
import Testing

@Suite struct MatrixTests {
  @Test func initialisersAgreeOnLayout() {
    let nested = Matrix<Float>([[1, 2, 3], [4, 5, 6]])
    let flat = Matrix<Float>(rows: 2, columns: 3, elements: [1, 2, 3, 4, 5, 6])
    let computed = Matrix<Float>(rows: 2, columns: 3) { i, j in Float(3 * i + j + 1) }
    #expect(nested == flat)
    #expect(nested == computed)
    #expect(nested.shape == (2, 3))
    #expect(nested.count == 6)
    #expect(nested[1, 0] == 4)
    #expect(nested[row: 1] == [4, 5, 6])
    #expect(nested.nestedRows == [[1, 2, 3], [4, 5, 6]])
    #expect(Matrix<Double>(rows: 2, columns: 2, repeating: 7).elements == [7, 7, 7, 7])
    #expect(Matrix<Double>.zeros(rows: 1, columns: 3).elements == [0, 0, 0])
    #expect(Matrix<Double>.identity(2).elements == [1, 0, 0, 1])
    #expect(Matrix<Float>(row: [1, 2]).shape == (1, 2))
    #expect(Matrix<Float>([]).shape == (0, 0))
    #expect(Matrix<Float>(rows: 0, columns: 5).count == 0)
  }

  @Test func copiesAreIndependent() {
    let original = Matrix<Double>([[1, 2], [3, 4]])
    var copy = original
    copy[0, 0] = 9
    copy[row: 1] = [7, 8]
    #expect(original.elements == [1, 2, 3, 4])
    #expect(copy.elements == [9, 2, 7, 8])
  }

  @Test func rowViewsShareStorageWhenRead() {
    let m = Matrix<Float>(rows: 5, columns: 3) { i, j in Float(10 * i + j) }
    let view = m[rows: 2..<4]
    #expect(view.shape == (2, 3))
    #expect(view.elements == [20, 21, 22, 30, 31, 32])
    let base = m.withUnsafeBufferPointer { $0.baseAddress! }
    view.withUnsafeBufferPointer { #expect($0.baseAddress! == base + 6) }
    #expect(m[rows: 5..<5].count == 0)
  }

  @Test func mutatingThroughTheRowSubscriptWritesInPlace() {
    var m = Matrix<Float>(rows: 4, columns: 2) { i, j in Float(2 * i + j) }
    let base = m.withUnsafeBufferPointer { $0.baseAddress! }
    m[rows: 1..<3].scale(by: 10)
    #expect(m.elements == [0, 1, 20, 30, 40, 50, 6, 7])
    // Still the same storage: the view wrote into it, nothing was copied.
    m.withUnsafeBufferPointer { #expect($0.baseAddress! == base) }
    m[rows: 3..<4] = Matrix([[-1, -2]])
    #expect(m[row: 3] == [-1, -2])
  }

  @Test func mutatingThroughTheRowSubscriptKeepsOtherCopiesIntact() {
    var m = Matrix<Double>([[1, 2], [3, 4], [5, 6]])
    let snapshot = m
    m[rows: 0..<2].scale(by: 2)
    #expect(snapshot.elements == [1, 2, 3, 4, 5, 6])
    #expect(m.elements == [2, 4, 6, 8, 5, 6])
  }

  @Test func aViewThatEscapesKeepsItsValue() {
    var m = Matrix<Double>([[1, 2], [3, 4]])
    var escaped = Matrix<Double>(rows: 0, columns: 0)
    func keep(_ view: inout Matrix<Double>) {
      view[0, 0] = 10
      escaped = view
    }
    keep(&m[rows: 1..<2])
    m[1, 1] = 99  // must not show through `escaped`
    #expect(escaped.elements == [10, 4])
    #expect(m.elements == [1, 2, 10, 99])
  }

  @Test func viewsOfViews() {
    var m = Matrix<Float>(rows: 6, columns: 1) { i, _ in Float(i) }
    #expect(m[rows: 2..<6][rows: 1..<3].elements == [3, 4])
    m[rows: 2..<6][rows: 1..<3].scale(by: -1)
    #expect(m.elements == [0, 1, 2, -3, -4, 5])
  }

  @Test func reshapedSharesStorage() {
    let m = Matrix<Float>(rows: 2, columns: 3, elements: [1, 2, 3, 4, 5, 6])
    let r = m.reshaped(rows: 3, columns: 2)
    #expect(r.nestedRows == [[1, 2], [3, 4], [5, 6]])
  }

  @Test(arguments: [(1, 1), (1, 7), (7, 1), (33, 65), (64, 32)])
  func transposeMatchesDefinition(rows: Int, columns: Int) {
    let m = Matrix<Double>(rows: rows, columns: columns) { i, j in Double(i * 1000 + j) }
    let t = m.transposed
    #expect(t.shape == (columns, rows))
    #expect((0..<rows).allSatisfy { i in (0..<columns).allSatisfy { j in t[j, i] == m[i, j] } })
  }

  @Test func approximateEquality() {
    let a = Matrix<Float>([[1, 1e-9], [.infinity, 100]])
    let b = Matrix<Float>([[1.0001, 0], [.infinity, 100]])
    #expect(a.isApproximatelyEqual(to: b, absoluteTolerance: 1e-8, relativeTolerance: 1e-3))
    #expect(!a.isApproximatelyEqual(to: b, relativeTolerance: 1e-6))
    #expect(!a.isApproximatelyEqual(to: Matrix(rows: 1, columns: 4)))
    #expect(!Matrix<Float>([[.nan]]).isApproximatelyEqual(to: Matrix([[.nan]])))
    #expect(a.maxAbsoluteDifference(to: b) == Float(1.0001) - 1)
  }

  @Test func descriptionShowsShapeAndTruncates() {
    let small = Matrix<Float>([[1, 2], [3, 4]])
    #expect(small.description == "Matrix<Float> 2×2\n[1.0, 2.0]\n[3.0, 4.0]")
    let big = Matrix<Double>(rows: 100, columns: 100) { i, j in Double(i + j) }
    let lines = big.description.split(separator: "\n")
    #expect(lines.first == "Matrix<Double> 100×100")
    #expect(lines.count == 1 + 7)
    #expect(lines[4].allSatisfy { $0 == "[" || $0 == "]" || $0 == "…" || $0 == "," || $0 == " " })
    #expect(lines[1].contains("…") && lines[1].hasSuffix("99.0]"))
  }

  @Test func badShapesTrap() async {
    await #expect(processExitsWith: .failure) {
      _ = Matrix<Float>(rows: 2, columns: 2, elements: [1, 2, 3])
    }
    await #expect(processExitsWith: .failure) {
      _ = Matrix<Float>([[1, 2], [3]])
    }
    await #expect(processExitsWith: .failure) {
      _ = Matrix<Float>(rows: 2, columns: 2)[2, 0]
    }
    await #expect(processExitsWith: .failure) {
      var m = Matrix<Float>(rows: 3, columns: 2)
      m[rows: 0..<2] = Matrix(rows: 1, columns: 2)
    }
  }
}
