import Linalg
import Testing
import _TestSupport

/// One GEMM case: `op(A)` is `m × k`, `op(B)` is `k × n`; `offset` rows of padding sit
/// above every operand so that they are views into larger matrices.
struct GEMMCase: CustomTestStringConvertible, Sendable {
  var m: Int, n: Int, k: Int
  var transposeA: Bool, transposeB: Bool
  var alpha: Double, beta: Double
  var offset: Int

  var testDescription: String {
    "\(m)×\(k)·\(k)×\(n) tA=\(transposeA) tB=\(transposeB) α=\(alpha) β=\(beta) offset=\(offset)"
  }

  /// Awkward sizes (1, primes, non-square, an empty k) under every transpose, alpha and
  /// beta combination.
  static let all: [GEMMCase] = {
    let shapes = [(1, 1, 1), (1, 7, 3), (5, 1, 4), (13, 7, 11), (17, 31, 1), (3, 4, 0), (29, 37, 41)]
    var cases: [GEMMCase] = []
    for (index, (m, n, k)) in shapes.enumerated() {
      for tA in [false, true] {
        for tB in [false, true] {
          for (alpha, beta) in [(1.0, 0.0), (-0.5, 1.0), (2.0, -1.5)] {
            cases.append(
              GEMMCase(
                m: m, n: n, k: k, transposeA: tA, transposeB: tB, alpha: alpha, beta: beta, offset: index % 3)
            )
          }
        }
      }
    }
    return cases
  }()
}

@Suite struct GEMMTests {
  func check<Scalar: BLASScalar>(_: Scalar.Type, _ c: GEMMCase, seed: UInt64) {
    let (ar, ac) = c.transposeA ? (c.k, c.m) : (c.m, c.k)
    let (br, bc) = c.transposeB ? (c.n, c.k) : (c.k, c.n)
    let aFull = Reference.randomMatrix(Scalar.self, rows: ar + c.offset, columns: ac, seed: seed)
    let bFull = Reference.randomMatrix(Scalar.self, rows: br + c.offset, columns: bc, seed: seed + 1)
    var cFull = Reference.randomMatrix(Scalar.self, rows: c.m + 2 * c.offset, columns: c.n, seed: seed + 2)
    let a = aFull[rows: c.offset..<c.offset + ar]
    let b = bFull[rows: c.offset..<c.offset + br]
    let cRows = c.offset..<c.offset + c.m
    let before = cFull
    let expected = Reference.gemm(
      a, transposeA: c.transposeA, b, transposeB: c.transposeB,
      alpha: Scalar(c.alpha), beta: Scalar(c.beta), c: cFull[rows: cRows])
    gemm(
      a, transposeA: c.transposeA, b, transposeB: c.transposeB,
      alpha: Scalar(c.alpha), beta: Scalar(c.beta), into: &cFull[rows: cRows])
    let misses = Reference.misses(cFull[rows: cRows], expected.value, bound: expected.bound)
    #expect(misses.isEmpty, "\(Scalar.self) \(c.testDescription) seed \(seed): \(misses.prefix(3))")
    // Rows outside the view are untouched.
    #expect(cFull[rows: 0..<c.offset] == before[rows: 0..<c.offset])
    #expect(cFull[rows: cRows.upperBound..<cFull.rows] == before[rows: cRows.upperBound..<before.rows])
  }

  @Test(arguments: GEMMCase.all)
  func gemmMatchesNaiveReference(_ c: GEMMCase) {
    check(Float.self, c, seed: 42)
    check(Double.self, c, seed: 43)
  }

  /// A few rows against a transposed weight: the shapes `Float` sends to its few-rows
  /// kernel (1…8 rows, weight rows not a multiple of 2, `k` not a multiple of 8, `k` below
  /// one vector, `k` large enough that the weight rows go in several L2-sized chunks), and
  /// 9 rows just past it, against the naive reference.
  static let fewRowsCases: [GEMMCase] = [1, 2, 3, 4, 5, 7, 8, 9].flatMap { m in
    [(259, 67), (6001, 3), (97, 2000)].flatMap { n, k in
      [(1.0, 0.0), (-0.5, 1.0), (2.0, -1.5)].map { alpha, beta in
        GEMMCase(
          m: m, n: n, k: k, transposeA: false, transposeB: true, alpha: alpha, beta: beta, offset: m % 3)
      }
    }
  }

  @Test(arguments: fewRowsCases)
  func fewRowsProductsMatchNaiveReference(_ c: GEMMCase) {
    check(Float.self, c, seed: 7)
  }

  /// The few-rows kernel splits the weight rows over threads; each entry is one thread's
  /// dot product, so one and two threads give the same bits.
  @Test func fewRowsProductsDoNotDependOnThreadCount() {
    let a = Reference.randomMatrix(Float.self, rows: 6, columns: 300, seed: 1)
    let w = Reference.randomMatrix(Float.self, rows: 1031, columns: 300, seed: 2)
    let one = BLAS.withThreadCount(1) { matmul(a, w, transposeB: true) }
    let two = BLAS.withThreadCount(2) { matmul(a, w, transposeB: true) }
    #expect(one == two)
  }

  @Test func betaZeroOverwritesNaN() {
    let a = Matrix<Float>([[1, 2]])
    let b = Matrix<Float>([[3], [4]])
    var c = Matrix<Float>([[.nan]])
    gemm(a, b, into: &c)
    #expect(c.elements == [11])
  }

  @Test func matmulAllocatesTheProduct() {
    let a = Matrix<Double>([[1, 2, 3], [4, 5, 6]])
    let w = Matrix<Double>([[1, 0, 1], [0, 1, 0]])  // out × in
    #expect(matmul(a, w, transposeB: true).nestedRows == [[4, 2], [10, 5]])
    #expect(matmul(a, transposeA: true, a).shape == (3, 3))
    #expect(
      matmul(Matrix<Double>(rows: 2, columns: 0), Matrix(rows: 0, columns: 3)).elements == [0, 0, 0, 0, 0, 0])
  }

  @Test(arguments: [(1, 1), (1, 9), (8, 1), (13, 29)])
  func gemvMatchesGEMM(rows: Int, columns: Int) {
    for transpose in [false, true] {
      let a = Reference.randomMatrix(Double.self, rows: rows, columns: columns, seed: 7)
      let (inputs, outputs) = transpose ? (rows, columns) : (columns, rows)
      let x = Reference.randomMatrix(Double.self, rows: inputs, columns: 1, seed: 8)
      var y = Reference.randomMatrix(Double.self, rows: 1, columns: outputs, seed: 9)
      let expected = Reference.gemm(
        a, transposeA: transpose, x, transposeB: false, alpha: 0.5, beta: 2,
        c: y.reshaped(rows: outputs, columns: 1))
      gemv(a, transpose: transpose, x, alpha: 0.5, beta: 2, into: &y)
      let misses = Reference.misses(
        y.reshaped(rows: outputs, columns: 1), expected.value, bound: expected.bound)
      #expect(misses.isEmpty, "transpose \(transpose): \(misses.prefix(3))")
    }
  }

  @Test func levelOneRoutines() {
    let x = Matrix<Float>([[3, 4]])
    var y = Matrix<Float>([[1], [1]])  // shapes may differ, counts may not
    axpy(2, x, &y)
    #expect(y.elements == [7, 9])
    #expect(dot(x, y) == 57)
    #expect(x.norm == 5)
    #expect(Matrix<Double>([[1e200, 1e200]]).norm == 1e200 * 2.0.squareRoot())
    y.scale(by: -1)
    #expect(y.elements == [-7, -9])
    #expect(Matrix<Float>(rows: 0, columns: 0).norm == 0)
  }

  @Test func shapeMismatchesTrap() async {
    await #expect(processExitsWith: .failure) {
      var c = Matrix<Float>(rows: 2, columns: 2)
      gemm(Matrix<Float>(rows: 2, columns: 3), Matrix<Float>(rows: 2, columns: 2), into: &c)
    }
    await #expect(processExitsWith: .failure) {
      var y = Matrix<Float>(rows: 1, columns: 3)
      gemv(Matrix<Float>(rows: 2, columns: 3), Matrix<Float>(rows: 1, columns: 3), into: &y)
    }
    await #expect(processExitsWith: .failure) {
      _ = dot(Matrix<Float>(rows: 1, columns: 3), Matrix<Float>(rows: 1, columns: 2))
    }
  }
}

@Suite struct ColumnBlockGEMMTests {
  /// Column blocks of wider matrices (as heads of a `tokens × heads·d` matrix), under every
  /// transpose, against the naive product of copied blocks; C's other columns untouched.
  @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
  func columnBlocksMatchTheProductOfCopies(transposeA: Bool, transposeB: Bool) {
    let (m, k, n) = (5, 3, 4)
    let a = Reference.randomMatrix(Double.self, rows: transposeA ? k : m, columns: 9, seed: 1)
    let b = Reference.randomMatrix(Double.self, rows: transposeB ? n : k, columns: 11, seed: 2)
    var c = Reference.randomMatrix(Double.self, rows: m, columns: 7, seed: 3)
    let before = c
    let (aColumns, bColumns, cColumns) = (
      (transposeA ? 2..<7 : 4..<7), (transposeB ? 6..<9 : 1..<5), 2..<6
    )
    let expected = Reference.gemm(
      a.columns(aColumns), transposeA: transposeA, b.columns(bColumns), transposeB: transposeB, alpha: 2,
      beta: -1,
      c: c.columns(cColumns))
    gemm(
      a, columns: aColumns, transposeA: transposeA, b, columns: bColumns, transposeB: transposeB, alpha: 2,
      beta: -1,
      into: &c, columns: cColumns)
    #expect(Reference.misses(c.columns(cColumns), expected.value, bound: expected.bound).isEmpty)
    #expect(c.columns(0..<2) == before.columns(0..<2) && c.columns(6..<7) == before.columns(6..<7))
  }

  @Test func anEmptyInnerDimensionScalesOnlyTheBlock() {
    var c = Matrix<Double>(rows: 2, columns: 4, repeating: 3)
    gemm(
      Matrix<Double>(rows: 2, columns: 3), columns: 1..<1, Matrix<Double>(rows: 0, columns: 5),
      columns: 0..<2,
      beta: 2, into: &c, columns: 1..<3)
    #expect(c == Matrix([[3, 6, 6, 3], [3, 6, 6, 3]]))
  }
}
