/// GEMM on column blocks, with no copies:
/// `C[:, cColumns] ← α·op(A[:, aColumns])·op(B[:, bColumns]) + β·C[:, cColumns]`.
///
/// A column block of a row-major matrix is a strided matrix (its leading dimension is the
/// full row), which BLAS takes as it is. Attention keeps every head side by side in one
/// `tokens × heads·d` matrix; one head is a column block, so a head's scores and values
/// need no copy of its keys or values. Combine with row views (`k[rows: r]`) for a block
/// of both.
///
/// - Parameters:
///   - a: `m × |aColumns|` once restricted (`|aColumns| × m` read as `op(A)` when
///     `transposeA`).
///   - c: updated in its `cColumns`; its other columns are left as they are.
///   - b: `k × |bColumns|` once restricted (`|bColumns| × k` read as `op(B)` when `transposeB`).
///   - aColumns: the columns of `a` that form the block.
///   - transposeA: whether the block of `a` is read transposed.
///   - bColumns: the columns of `b` that form the block.
///   - transposeB: whether the block of `b` is read transposed.
///   - alpha: scale of the product (default 1).
///   - beta: scale of the old block of `C` (default 0).
///   - cColumns: the columns of `c` the product goes to.
/// - Precondition: the ranges lie within the matrices and the blocks' shapes agree.
/// - Complexity: `2·m·n·k` flops.
public func gemm<Scalar: BLASScalar>(
  _ a: Matrix<Scalar>, columns aColumns: Range<Int>, transposeA: Bool = false,
  _ b: Matrix<Scalar>, columns bColumns: Range<Int>, transposeB: Bool = false,
  alpha: Scalar = 1, beta: Scalar = 0, into c: inout Matrix<Scalar>, columns cColumns: Range<Int>
) {
  for (name, matrix, range) in [("A", a, aColumns), ("B", b, bColumns), ("C", c, cColumns)] {
    precondition(
      range.lowerBound >= 0 && range.upperBound <= matrix.columns,
      "gemm: columns \(range) of \(name) \(matrix.rows)×\(matrix.columns) are out of range")
  }
  let (m, k) = transposeA ? (aColumns.count, a.rows) : (a.rows, aColumns.count)
  let (kb, n) = transposeB ? (bColumns.count, b.rows) : (b.rows, bColumns.count)
  precondition(
    k == kb && c.rows == m && cColumns.count == n,
    "gemm: op(A[:, \(aColumns)]) \(m)×\(k) · op(B[:, \(bColumns)]) \(kb)×\(n) does not fit C[:, \(cColumns)] \(c.rows)×\(cColumns.count)"
  )
  guard m > 0 && n > 0 else { return }
  let (lda, ldb, ldc) = (a.columns, b.columns, c.columns)
  a.withUnsafeBufferPointer { pa in
    b.withUnsafeBufferPointer { pb in
      c.withUnsafeMutableBufferPointer { pc in
        _gemmUnchecked(
          transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
          a: pa.baseAddress! + aColumns.lowerBound, lda: lda, b: pb.baseAddress! + bColumns.lowerBound,
          ldb: ldb,
          beta: beta, c: pc.baseAddress! + cColumns.lowerBound, ldc: ldc)
      }
    }
  }
}
