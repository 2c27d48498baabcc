import Linalg

/// Naive `Double` references for `Linalg`'s kernels, and the tolerances tests hold them to.
/// Tests only: nothing here is fast.
public enum Reference {
  /// `α·op(A)·op(B) + β·C` by triple loops in `Double`, with the standard forward error
  /// bound of each entry: `bound[i, j] = γ · (|α|·Σₗ |op(A)ᵢₗ|·|op(B)ₗⱼ| + |β|·|Cᵢⱼ|)`,
  /// `γ = (k + 2)·ε` for the scalar's unit roundoff `ε` (Higham, *Accuracy and Stability of
  /// Numerical Algorithms*, §3.5).
  public static func gemm<Scalar: BLASScalar>(
    _ a: Matrix<Scalar>, transposeA: Bool, _ b: Matrix<Scalar>, transposeB: Bool,
    alpha: Scalar, beta: Scalar, c: Matrix<Scalar>
  ) -> (value: [[Double]], bound: [[Double]]) {
    let (m, k) = transposeA ? (a.columns, a.rows) : (a.rows, a.columns)
    let n = transposeB ? b.rows : b.columns
    func opA(_ i: Int, _ l: Int) -> Double { Double(transposeA ? a[l, i] : a[i, l]) }
    func opB(_ l: Int, _ j: Int) -> Double { Double(transposeB ? b[j, l] : b[l, j]) }
    let gamma = Double(k + 2) * Double(Scalar.ulpOfOne)
    var value = [[Double]](repeating: [Double](repeating: 0, count: n), count: m)
    var bound = value
    for i in 0..<m {
      for j in 0..<n {
        var sum = 0.0
        var magnitude = 0.0
        for l in 0..<k {
          sum += opA(i, l) * opB(l, j)
          magnitude += abs(opA(i, l) * opB(l, j))
        }
        let old = beta == 0 ? 0 : Double(beta) * Double(c[i, j])
        value[i][j] = Double(alpha) * sum + old
        bound[i][j] = gamma * (abs(Double(alpha)) * magnitude + abs(old)) + Double.leastNormalMagnitude
      }
    }
    return (value, bound)
  }

  /// The entries of `actual` that miss `expected` by more than `bound`, as readable lines
  /// (empty when all are within it).
  public static func misses<Scalar: BLASScalar>(
    _ actual: Matrix<Scalar>, _ expected: [[Double]], bound: [[Double]]
  ) -> [String] {
    var lines: [String] = []
    for i in 0..<actual.rows {
      for j in 0..<actual.columns {
        let error = abs(Double(actual[i, j]) - expected[i][j])
        if !(error <= bound[i][j]) {
          lines.append("(\(i), \(j)): got \(actual[i, j]), expected \(expected[i][j]) ± \(bound[i][j])")
        }
      }
    }
    return lines
  }

  /// The largest relative error `|actual − expected| / max(|expected|, floor)` over all
  /// entries (NaN if any entry is NaN on one side only).
  public static func maxRelativeError<Scalar: BLASScalar>(
    _ actual: Matrix<Scalar>, _ expected: [[Double]], floor: Double = 1
  ) -> Double {
    var worst = 0.0
    for i in 0..<actual.rows {
      for j in 0..<actual.columns {
        let (x, y) = (Double(actual[i, j]), expected[i][j])
        if x == y { continue }
        let error = abs(x - y) / max(abs(y), floor)
        if error.isNaN { return .nan }
        worst = max(worst, error)
      }
    }
    return worst
  }

  /// A `rows × columns` matrix of uniform draws from `[-1, 1)` from a generator seeded
  /// with `seed` (say the seed in a failing test's message).
  public static func randomMatrix<Scalar: BLASScalar>(
    _: Scalar.Type, rows: Int, columns: Int, seed: UInt64
  ) -> Matrix<Scalar> {
    var generator = Xoshiro256StarStar(seed: seed)
    return Matrix.uniform(rows: rows, columns: columns, low: -1, high: 1, using: &generator)
  }
}
