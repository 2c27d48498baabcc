import COpenBLAS
import RealModule

/// `Float` computes with the single-precision routines (`cblas_s*`, `LAPACKE_s*`).
extension Float: BLASScalar {
  /// Calls `cblas_sgemm`, or for a few rows against a transposed weight (a decode step)
  /// the kernel of `_FewRowsGEMM`, which reads the weights once at memory speed.
  public static func _gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    if _FewRowsGEMM.applies(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k) {
      _FewRowsGEMM.run(
        m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, w: b, ldw: ldb, beta: beta, c: c, ldc: ldc)
      return
    }
    cblas_sgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
      blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
      beta, c, blasint(ldc))
  }

  /// Calls `cblas_sgemv`.
  @inlinable
  public static func _gemv(
    transpose: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
    x: UnsafePointer<Float>, incX: Int, beta: Float, y: UnsafeMutablePointer<Float>, incY: Int
  ) {
    cblas_sgemv(
      CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, blasint(m), blasint(n), alpha,
      a, blasint(lda), x, blasint(incX), beta, y, blasint(incY))
  }

  /// Calls `cblas_saxpy`.
  @inlinable
  public static func _axpy(
    n: Int, alpha: Float, x: UnsafePointer<Float>, incX: Int,
    y: UnsafeMutablePointer<Float>, incY: Int
  ) {
    cblas_saxpy(blasint(n), alpha, x, blasint(incX), y, blasint(incY))
  }

  /// Calls `cblas_sdot`.
  @inlinable
  public static func _dot(
    n: Int, x: UnsafePointer<Float>, incX: Int, y: UnsafePointer<Float>, incY: Int
  ) -> Float {
    cblas_sdot(blasint(n), x, blasint(incX), y, blasint(incY))
  }

  /// Calls `cblas_sscal`.
  @inlinable
  public static func _scal(n: Int, alpha: Float, x: UnsafeMutablePointer<Float>, incX: Int) {
    cblas_sscal(blasint(n), alpha, x, blasint(incX))
  }

  /// Calls `cblas_snrm2`.
  @inlinable
  public static func _nrm2(n: Int, x: UnsafePointer<Float>, incX: Int) -> Float {
    cblas_snrm2(blasint(n), x, blasint(incX))
  }

  /// Calls `LAPACKE_sgesdd`.
  public static func _gesdd(
    m: Int, n: Int, a: UnsafeMutablePointer<Float>, lda: Int, s: UnsafeMutablePointer<Float>,
    u: UnsafeMutablePointer<Float>, ldu: Int, vt: UnsafeMutablePointer<Float>, ldvt: Int
  ) -> Int {
    Int(
      LAPACKE_sgesdd(
        LAPACK_ROW_MAJOR, _lapackChar("S"), Int32(m), Int32(n), a, Int32(lda), s,
        u, Int32(ldu), vt, Int32(ldvt)))
  }

  /// Calls `LAPACKE_sgeqrf`.
  public static func _geqrf(
    m: Int, n: Int, a: UnsafeMutablePointer<Float>, lda: Int, tau: UnsafeMutablePointer<Float>
  ) -> Int {
    Int(LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), a, Int32(lda), tau))
  }

  /// Calls `LAPACKE_sorgqr`.
  public static func _orgqr(
    m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Float>, lda: Int, tau: UnsafePointer<Float>
  ) -> Int {
    Int(
      LAPACKE_sorgqr(
        LAPACK_ROW_MAJOR, Int32(m), Int32(n), Int32(k), a, Int32(lda), tau))
  }

  /// Calls `LAPACKE_spotrf`.
  public static func _potrf(n: Int, a: UnsafeMutablePointer<Float>, lda: Int) -> Int {
    Int(LAPACKE_spotrf(LAPACK_ROW_MAJOR, _lapackChar("L"), Int32(n), a, Int32(lda)))
  }

  /// Calls `LAPACKE_sgesv`.
  public static func _gesv(
    n: Int, nrhs: Int, a: UnsafeMutablePointer<Float>, lda: Int, ipiv: UnsafeMutablePointer<Int32>,
    b: UnsafeMutablePointer<Float>, ldb: Int
  ) -> Int {
    Int(
      LAPACKE_sgesv(
        LAPACK_ROW_MAJOR, Int32(n), Int32(nrhs), a, Int32(lda), ipiv, b,
        Int32(ldb)))
  }

  /// Calls `LAPACKE_sgelsd`.
  public static func _gelsd(
    m: Int, n: Int, nrhs: Int, a: UnsafeMutablePointer<Float>, lda: Int,
    b: UnsafeMutablePointer<Float>, ldb: Int, s: UnsafeMutablePointer<Float>, rcond: Float,
    rank: UnsafeMutablePointer<Int32>
  ) -> Int {
    Int(
      LAPACKE_sgelsd(
        LAPACK_ROW_MAJOR, Int32(m), Int32(n), Int32(nrhs), a, Int32(lda), b, Int32(ldb), s, rcond,
        rank))
  }

  /// Calls `LAPACKE_ssyevd`.
  public static func _syevd(
    n: Int, a: UnsafeMutablePointer<Float>, lda: Int, w: UnsafeMutablePointer<Float>
  ) -> Int {
    Int(
      LAPACKE_ssyevd(
        LAPACK_ROW_MAJOR, _lapackChar("V"), _lapackChar("L"), Int32(n), a, Int32(lda), w))
  }
}
