/// General matrix–matrix product into an existing matrix:
/// `C ← α·op(A)·op(B) + β·C`, where `op(X)` is `X` or `Xᵀ`.
///
/// Nothing is allocated and nothing is copied: `A`, `B` and `C` may be row-range views
/// (`x[rows: r]`), and `op` is a flag passed to BLAS, so `y = x · Wᵀ` with `W` stored
/// `out × in` is `gemm(x, w, transposeB: true, into: &y)`.
///
/// - Parameters:
///   - a: `m × k`, or `k × m` when `transposeA`.
///   - b: `k × n`, or `n × k` when `transposeB`.
///   - alpha: scale of the product (default 1).
///   - beta: scale of the old `C` (default 0: `C` is overwritten, even if it held NaN).
///   - c: `m × n`, updated in place.
///   - transposeA: whether `a` is read transposed.
///   - transposeB: whether `b` is read transposed.
/// - Precondition: the shapes agree; the message names all three.
/// - Complexity: `2·m·n·k` flops (`?gemm`).
public func gemm<Scalar: BLASScalar>(
  _ a: Matrix<Scalar>, transposeA: Bool = false,
  _ b: Matrix<Scalar>, transposeB: Bool = false,
  alpha: Scalar = 1, beta: Scalar = 0, into c: inout Matrix<Scalar>
) {
  let (m, k) = transposeA ? (a.columns, a.rows) : (a.rows, a.columns)
  let (kb, n) = transposeB ? (b.columns, b.rows) : (b.rows, b.columns)
  precondition(
    k == kb && c.rows == m && c.columns == n,
    "gemm: op(A) \(m)×\(k) · op(B) \(kb)×\(n) does not fit C \(c.rows)×\(c.columns) (A \(a.rows)×\(a.columns)\(transposeA ? "ᵀ" : ""), B \(b.rows)×\(b.columns)\(transposeB ? "ᵀ" : ""))"
  )
  guard m > 0 && n > 0 else { return }
  a.withUnsafeBufferPointer { pa in
    b.withUnsafeBufferPointer { pb in
      c.withUnsafeMutableBufferPointer { pc in
        _gemmUnchecked(
          transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
          a: pa.baseAddress!, lda: a.columns, b: pb.baseAddress!, ldb: b.columns,
          beta: beta, c: pc.baseAddress!, ldc: n)
      }
    }
  }
}

/// `?gemm` on raw row-major pointers, handling the cases BLAS leaves to the caller:
/// `k = 0` (the product is zero, so `C ← β·C`) and leading dimensions of 0.
@usableFromInline
func _gemmUnchecked<Scalar: BLASScalar>(
  transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Scalar,
  a: UnsafePointer<Scalar>, lda: Int, b: UnsafePointer<Scalar>, ldb: Int,
  beta: Scalar, c: UnsafeMutablePointer<Scalar>, ldc: Int
) {
  if k == 0 {
    // Row by row: C may be a column block, whose rows are `n` of every `ldc` elements.
    for i in 0..<m {
      if beta == 0 {
        (c + i * ldc).update(repeating: 0, count: n)
      } else {
        Scalar._scal(n: n, alpha: beta, x: c + i * ldc, incX: 1)
      }
    }
    return
  }
  Scalar._gemm(
    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
    a: a, lda: Swift.max(lda, 1), b: b, ldb: Swift.max(ldb, 1),
    beta: beta, c: c, ldc: Swift.max(ldc, 1))
}

/// The product `op(A)·op(B)` as a new matrix (see `gemm` for the shapes).
///
/// - Complexity: `2·m·n·k` flops and one `m × n` allocation.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func matmul<Scalar: BLASScalar>(
  _ a: Matrix<Scalar>, transposeA: Bool = false,
  _ b: Matrix<Scalar>, transposeB: Bool = false
) -> Matrix<Scalar> {
  let m = transposeA ? a.columns : a.rows
  let n = transposeB ? b.rows : b.columns
  var c = Matrix<Scalar>(rows: m, columns: n)
  gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: &c)
  return c
}

/// General matrix–vector product into an existing vector: `y ← α·op(A)·x + β·y`.
///
/// Vectors are matrices read in row-major order, so `x` may be `1 × n`, `n × 1`, or a
/// row of a larger matrix (`m[rows: i..<i+1]`).
///
/// - Parameters:
///   - a: `m × n` as stored.
///   - x: `n` elements (`m` when `transpose`).
///   - y: `m` elements (`n` when `transpose`), updated in place.
///   - transpose: whether `a` is read transposed.
///   - alpha: scale of the product (default 1).
///   - beta: scale of the old `y` (default 0).
/// - Complexity: `2·m·n` flops (`?gemv`).
public func gemv<Scalar: BLASScalar>(
  _ a: Matrix<Scalar>, transpose: Bool = false, _ x: Matrix<Scalar>,
  alpha: Scalar = 1, beta: Scalar = 0, into y: inout Matrix<Scalar>
) {
  let (outputs, inputs) = transpose ? (a.columns, a.rows) : (a.rows, a.columns)
  precondition(
    x.count == inputs && y.count == outputs,
    "gemv: A \(a.rows)×\(a.columns)\(transpose ? "ᵀ" : "") needs x of \(inputs) and y of \(outputs) elements, got x \(x.rows)×\(x.columns) and y \(y.rows)×\(y.columns)"
  )
  guard outputs > 0 else { return }
  if inputs == 0 {
    y.withUnsafeMutableBufferPointer { py in
      for i in py.indices { py[i] = beta == 0 ? 0 : beta * py[i] }
    }
    return
  }
  a.withUnsafeBufferPointer { pa in
    x.withUnsafeBufferPointer { px in
      y.withUnsafeMutableBufferPointer { py in
        Scalar._gemv(
          transpose: transpose, m: a.rows, n: a.columns, alpha: alpha, a: pa.baseAddress!,
          lda: a.columns, x: px.baseAddress!, incX: 1, beta: beta, y: py.baseAddress!, incY: 1)
      }
    }
  }
}
