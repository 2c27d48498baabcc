extension Matrix {
  /// The thin SVD by divide and conquer (LAPACK `?gesdd`).
  ///
  /// - Throws: `LinalgError.noConvergence` when the iteration fails (rare; NaN input).
  /// - Complexity: O(m·n·min(m, n)).
  public func singularValueDecomposition() throws -> SingularValueDecomposition<Scalar> {
    let (m, n) = (rows, columns)
    let r = Swift.min(m, n)
    var a = self
    var u = Matrix(rows: m, columns: r)
    var vt = Matrix(rows: r, columns: n)
    var s = [Scalar](repeating: 0, count: r)
    guard r > 0 else { return SingularValueDecomposition(u: u, singularValues: s, vt: vt) }
    let info = a.withUnsafeMutableBufferPointer { pa in
      u.withUnsafeMutableBufferPointer { pu in
        vt.withUnsafeMutableBufferPointer { pvt in
          s.withUnsafeMutableBufferPointer { ps in
            Scalar._gesdd(
              m: m, n: n, a: pa.baseAddress!, lda: n, s: ps.baseAddress!,
              u: pu.baseAddress!, ldu: r, vt: pvt.baseAddress!, ldvt: n)
          }
        }
      }
    }
    try _checkLAPACK(info, "gesdd") { .noConvergence(routine: "gesdd", info: $0) }
    return SingularValueDecomposition(u: u, singularValues: s, vt: vt)
  }

  /// The thin QR factorisation by Householder reflections (LAPACK `?geqrf` + `?orgqr`).
  ///
  /// - Complexity: O(m·n·min(m, n)).
  public func qrDecomposition() -> QRDecomposition<Scalar> {
    let (m, n) = (rows, columns)
    let r = Swift.min(m, n)
    guard r > 0 else {
      return QRDecomposition(q: Matrix(rows: m, columns: r), r: Matrix(rows: r, columns: n))
    }
    var a = self
    var tau = [Scalar](repeating: 0, count: r)
    let info = a.withUnsafeMutableBufferPointer { pa in
      tau.withUnsafeMutableBufferPointer { pt in
        Scalar._geqrf(m: m, n: n, a: pa.baseAddress!, lda: n, tau: pt.baseAddress!)
      }
    }
    precondition(info == 0, "geqrf: argument \(-info) was illegal (info = \(info))")
    let upper = Matrix(rows: r, columns: n) { i, j in j >= i ? a[i, j] : 0 }
    // Q is the first r columns of the reflectors' product, formed in an m × r copy.
    var q = Matrix(rows: m, columns: r) { i, j in a[i, j] }
    let qInfo = q.withUnsafeMutableBufferPointer { pq in
      tau.withUnsafeBufferPointer { pt in
        Scalar._orgqr(m: m, n: r, k: r, a: pq.baseAddress!, lda: r, tau: pt.baseAddress!)
      }
    }
    precondition(qInfo == 0, "orgqr: argument \(-qInfo) was illegal (info = \(qInfo))")
    return QRDecomposition(q: q, r: upper)
  }

  /// The lower-triangular Cholesky factor `L` with `A = L·Lᵀ` (LAPACK `?potrf`), reading
  /// only the lower triangle of this symmetric matrix.
  ///
  /// - Throws: `LinalgError.notPositiveDefinite` when `A` is not positive definite.
  /// - Precondition: the matrix is square.
  /// - Complexity: `n³/3` flops.
  public func choleskyFactor() throws -> Matrix {
    precondition(rows == columns, "choleskyFactor: matrix is \(rows)×\(columns), not square")
    let n = rows
    var a = self
    guard n > 0 else { return a }
    let info = a.withUnsafeMutableBufferPointer { Scalar._potrf(n: n, a: $0.baseAddress!, lda: n) }
    try _checkLAPACK(info, "potrf") { .notPositiveDefinite(routine: "potrf", order: $0) }
    return Matrix(rows: n, columns: n) { i, j in j <= i ? a[i, j] : 0 }
  }

  /// The solution `X` of `A·X = B` by LU with partial pivoting (LAPACK `?gesv`).
  ///
  /// - Parameter b: `n × p` right-hand sides.
  /// - Returns: `n × p`.
  /// - Throws: `LinalgError.singular` when `A` is exactly singular.
  /// - Precondition: `A` is `n × n` and `b` has `n` rows.
  /// - Complexity: `2n³/3 + 2n²·p` flops.
  public func solve(_ b: Matrix) throws -> Matrix {
    precondition(
      rows == columns && b.rows == rows,
      "solve: A \(rows)×\(columns) must be square with as many rows as B \(b.rows)×\(b.columns)")
    let n = rows
    var a = self
    var x = b
    guard n > 0, b.columns > 0 else { return x }
    var pivots = [Int32](repeating: 0, count: n)
    let info = a.withUnsafeMutableBufferPointer { pa in
      x.withUnsafeMutableBufferPointer { px in
        pivots.withUnsafeMutableBufferPointer { pp in
          Scalar._gesv(
            n: n, nrhs: b.columns, a: pa.baseAddress!, lda: n, ipiv: pp.baseAddress!,
            b: px.baseAddress!, ldb: b.columns)
        }
      }
    }
    try _checkLAPACK(info, "gesv") { .singular(routine: "gesv", pivot: $0) }
    return x
  }

  /// The minimum-norm least-squares solution `X = argmin ‖A·X − B‖` (LAPACK `?gelsd`, by
  /// the SVD): the usual least-squares fit for an overdetermined full-rank `A`, the
  /// smallest exact solution for an underdetermined one, and still well defined when `A`
  /// is rank-deficient — singular values below `relativeCutoff · σ₁` are treated as zero.
  ///
  /// - Parameters:
  ///   - b: `m × p` right-hand sides.
  ///   - relativeCutoff: the rank threshold relative to the largest singular value;
  ///     `nil` (the default) means the scalar's machine precision.
  /// - Returns: `n × p`.
  /// - Throws: `LinalgError.noConvergence` when the SVD fails (NaN input).
  /// - Precondition: `b` has as many rows as `A`.
  /// - Complexity: O(m·n·min(m, n)).
  public func leastSquares(_ b: Matrix, relativeCutoff: Scalar? = nil) throws -> Matrix {
    precondition(
      b.rows == rows, "leastSquares: A \(rows)×\(columns) and B \(b.rows)×\(b.columns) differ in rows")
    let (m, n, p) = (rows, columns, b.columns)
    guard m > 0, n > 0, p > 0 else { return Matrix(rows: n, columns: p) }
    var a = self
    // gelsd overwrites a max(m, n) × p block: the solution is its first n rows.
    var x = Matrix(rows: Swift.max(m, n), columns: p)
    x[rows: 0..<m] = b
    var singularValues = [Scalar](repeating: 0, count: Swift.min(m, n))
    var rank: Int32 = 0
    let info = a.withUnsafeMutableBufferPointer { pa in
      x.withUnsafeMutableBufferPointer { px in
        singularValues.withUnsafeMutableBufferPointer { ps in
          Scalar._gelsd(
            m: m, n: n, nrhs: p, a: pa.baseAddress!, lda: n, b: px.baseAddress!, ldb: p,
            s: ps.baseAddress!, rcond: relativeCutoff ?? -1, rank: &rank)
        }
      }
    }
    try _checkLAPACK(info, "gelsd") { .noConvergence(routine: "gelsd", info: $0) }
    return Matrix(rows: n, columns: p, elements: x[rows: 0..<n].elements)
  }

  /// Eigenvalues and eigenvectors of this symmetric matrix by divide and conquer (LAPACK
  /// `?syevd`), reading only the lower triangle.
  ///
  /// - Throws: `LinalgError.noConvergence` when the iteration fails.
  /// - Precondition: the matrix is square.
  /// - Complexity: O(n³).
  public func symmetricEigendecomposition() throws -> SymmetricEigendecomposition<Scalar> {
    precondition(
      rows == columns, "symmetricEigendecomposition: matrix is \(rows)×\(columns), not square")
    let n = rows
    var a = self
    var w = [Scalar](repeating: 0, count: n)
    guard n > 0 else { return SymmetricEigendecomposition(eigenvalues: w, eigenvectors: a) }
    let info = a.withUnsafeMutableBufferPointer { pa in
      w.withUnsafeMutableBufferPointer { pw in
        Scalar._syevd(n: n, a: pa.baseAddress!, lda: n, w: pw.baseAddress!)
      }
    }
    try _checkLAPACK(info, "syevd") { .noConvergence(routine: "syevd", info: $0) }
    return SymmetricEigendecomposition(eigenvalues: w, eigenvectors: a)
  }
}
