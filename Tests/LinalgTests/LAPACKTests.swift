import Linalg
import Testing
import _TestSupport

/// Reconstruction tests: each factorisation must rebuild its input, and its factors must
/// have the structure they promise.
@Suite struct LAPACKTests {
  static let shapes = [(1, 1), (5, 3), (3, 5), (8, 8), (13, 7)]

  func relativeError<Scalar: BLASScalar>(_ a: Matrix<Scalar>, _ b: Matrix<Scalar>) -> Double {
    Double((a - b).norm) / max(Double(b.norm), 1e-300)
  }

  func symmetricPositiveDefinite<Scalar: BLASScalar>(_: Scalar.Type, n: Int, seed: UInt64) -> Matrix<Scalar> {
    let x = Reference.randomMatrix(Scalar.self, rows: n, columns: n, seed: seed)
    return matmul(x, x, transposeB: true) + Matrix.identity(n) * Scalar(n)
  }

  func checkSVD<Scalar: BLASScalar>(_: Scalar.Type, rows: Int, columns: Int) throws {
    let a = Reference.randomMatrix(Scalar.self, rows: rows, columns: columns, seed: 11)
    let svd = try a.singularValueDecomposition()
    let r = min(rows, columns)
    #expect(svd.u.shape == (rows, r) && svd.vt.shape == (r, columns))
    #expect(zip(svd.singularValues, svd.singularValues.dropFirst()).allSatisfy { $0 >= $1 })
    #expect(svd.singularValues.allSatisfy { $0 >= 0 })
    let sigma = Matrix(rows: r, columns: r) { i, j in i == j ? svd.singularValues[i] : 0 }
    let rebuilt = matmul(matmul(svd.u, sigma), svd.vt)
    let tolerance = 100 * Double(Scalar.ulpOfOne)
    #expect(relativeError(rebuilt, a) < tolerance, "\(Scalar.self) \(rows)×\(columns)")
    #expect(relativeError(matmul(svd.u, transposeA: true, svd.u), Matrix.identity(r)) < tolerance)
    #expect(relativeError(matmul(svd.vt, svd.vt, transposeB: true), Matrix.identity(r)) < tolerance)
  }

  func checkQR<Scalar: BLASScalar>(_: Scalar.Type, rows: Int, columns: Int) {
    let a = Reference.randomMatrix(Scalar.self, rows: rows, columns: columns, seed: 12)
    let qr = a.qrDecomposition()
    let r = min(rows, columns)
    #expect(qr.q.shape == (rows, r) && qr.r.shape == (r, columns))
    let tolerance = 100 * Double(Scalar.ulpOfOne)
    #expect(relativeError(matmul(qr.q, qr.r), a) < tolerance, "\(Scalar.self) \(rows)×\(columns)")
    #expect(relativeError(matmul(qr.q, transposeA: true, qr.q), Matrix.identity(r)) < tolerance)
    #expect((0..<r).allSatisfy { i in (0..<i).allSatisfy { j in qr.r[i, j] == 0 } })
  }

  @Test(arguments: shapes)
  func svdReconstructs(rows: Int, columns: Int) throws {
    try checkSVD(Float.self, rows: rows, columns: columns)
    try checkSVD(Double.self, rows: rows, columns: columns)
  }

  @Test(arguments: shapes)
  func qrReconstructs(rows: Int, columns: Int) {
    checkQR(Float.self, rows: rows, columns: columns)
    checkQR(Double.self, rows: rows, columns: columns)
  }

  @Test(arguments: [1, 4, 9])
  func choleskyReconstructs(n: Int) throws {
    let a = symmetricPositiveDefinite(Double.self, n: n, seed: 13)
    let l = try a.choleskyFactor()
    #expect(relativeError(matmul(l, l, transposeB: true), a) < 1e-13)
    #expect((0..<n).allSatisfy { i in (i + 1..<n).allSatisfy { j in l[i, j] == 0 } })
  }

  @Test func choleskyOfAnIndefiniteMatrixThrows() {
    let a = Matrix<Float>([[1, 2], [2, 1]])  // eigenvalues 3 and −1
    #expect(throws: LinalgError.notPositiveDefinite(routine: "potrf", order: 2)) {
      try a.choleskyFactor()
    }
  }

  @Test(arguments: [1, 6, 11])
  func solveSatisfiesTheSystem(n: Int) throws {
    let a =
      symmetricPositiveDefinite(Double.self, n: n, seed: 14)
      + Reference.randomMatrix(Double.self, rows: n, columns: n, seed: 15)
    let b = Reference.randomMatrix(Double.self, rows: n, columns: 3, seed: 16)
    let x = try a.solve(b)
    #expect(relativeError(matmul(a, x), b) < 1e-12)
    let xf = try Matrix<Float>(rows: n, columns: n) { Float(a[$0, $1]) }
      .solve(Matrix<Float>(rows: n, columns: 3) { Float(b[$0, $1]) })
    #expect(relativeError(Matrix<Double>(rows: n, columns: 3) { Double(xf[$0, $1]) }, x) < 1e-4)
  }

  @Test func solveWithASingularMatrixThrows() {
    let a = Matrix<Double>([[1, 2], [2, 4]])
    #expect(throws: LinalgError.singular(routine: "gesv", pivot: 2)) {
      try a.solve(Matrix([[1], [1]]))
    }
    #expect("\(LinalgError.singular(routine: "gesv", pivot: 2))".contains("singular"))
  }

  @Test func leastSquaresMatchesNormalEquations() throws {
    let a = Reference.randomMatrix(Double.self, rows: 12, columns: 4, seed: 17)
    let b = Reference.randomMatrix(Double.self, rows: 12, columns: 2, seed: 18)
    let x = try a.leastSquares(b)
    #expect(x.shape == (4, 2))
    // At the minimum the residual is orthogonal to A's columns: Aᵀ(Ax − b) = 0.
    let gradient = matmul(a, transposeA: true, matmul(a, x) - b)
    #expect(gradient.norm < 1e-12)
    // Underdetermined: an exact, minimum-norm solution.
    let wide = a.transposed
    let y = try wide.leastSquares(Reference.randomMatrix(Double.self, rows: 4, columns: 1, seed: 19))
    #expect(y.shape == (12, 1))
    #expect(
      relativeError(matmul(wide, y), Reference.randomMatrix(Double.self, rows: 4, columns: 1, seed: 19))
        < 1e-12)
  }

  @Test func leastSquaresOfARankDeficientMatrixIsTheMinimumNormSolution() throws {
    // Rank 1: every x with x₁ + 2x₂ = 1 fits exactly; the shortest is (1, 2)/5.
    let a = Matrix<Double>([[1, 2], [2, 4], [3, 6]])
    let x = try a.leastSquares(Matrix([[1], [2], [3]]))
    #expect(x.isApproximatelyEqual(to: Matrix([[0.2], [0.4]]), relativeTolerance: 1e-12))
  }

  @Test(arguments: [1, 5, 10])
  func symmetricEigendecompositionDiagonalises(n: Int) throws {
    let x = Reference.randomMatrix(Double.self, rows: n, columns: n, seed: 20)
    let a = x + x.transposed
    let eig = try a.symmetricEigendecomposition()
    #expect(zip(eig.eigenvalues, eig.eigenvalues.dropFirst()).allSatisfy { $0 <= $1 })
    let v = eig.eigenvectors
    let lambda = Matrix(rows: n, columns: n) { i, j in i == j ? eig.eigenvalues[i] : 0 }
    #expect(relativeError(matmul(a, v), matmul(v, lambda)) < 1e-12)
    #expect(relativeError(matmul(v, transposeA: true, v), Matrix.identity(n)) < 1e-12)
  }

  @Test func emptyMatricesAreFine() throws {
    let empty = Matrix<Float>(rows: 0, columns: 3)
    #expect(try empty.singularValueDecomposition().singularValues.isEmpty)
    #expect(empty.qrDecomposition().r.shape == (0, 3))
    #expect(try Matrix<Float>(rows: 0, columns: 0).choleskyFactor().count == 0)
  }
}
