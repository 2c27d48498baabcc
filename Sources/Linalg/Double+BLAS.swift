import COpenBLAS
import RealModule

/// `Double` computes with the double-precision routines (`cblas_d*`, `LAPACKE_d*`).
extension Double: BLASScalar {
  /// Calls `cblas_dgemm`.
  @inlinable
  public static func _gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Double, a: UnsafePointer<Double>, lda: Int,
    b: UnsafePointer<Double>, ldb: Int,
    beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
  ) {
    cblas_dgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
      blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
      beta, c, blasint(ldc))
  }

  /// Calls `cblas_dgemv`.
  @inlinable
  public static func _gemv(
    transpose: Bool, m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
    x: UnsafePointer<Double>, incX: Int, beta: Double, y: UnsafeMutablePointer<Double>, incY: Int
  ) {
    cblas_dgemv(
      CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, blasint(m), blasint(n), alpha,
      a, blasint(lda), x, blasint(incX), beta, y, blasint(incY))
  }

  /// Calls `cblas_daxpy`.
  @inlinable
  public static func _axpy(
    n: Int, alpha: Double, x: UnsafePointer<Double>, incX: Int,
    y: UnsafeMutablePointer<Double>, incY: Int
  ) {
    cblas_daxpy(blasint(n), alpha, x, blasint(incX), y, blasint(incY))
  }

  /// Calls `cblas_ddot`.
  @inlinable
  public static func _dot(
    n: Int, x: UnsafePointer<Double>, incX: Int, y: UnsafePointer<Double>, incY: Int
  ) -> Double {
    cblas_ddot(blasint(n), x, blasint(incX), y, blasint(incY))
  }

  /// Calls `cblas_dscal`.
  @inlinable
  public static func _scal(n: Int, alpha: Double, x: UnsafeMutablePointer<Double>, incX: Int) {
    cblas_dscal(blasint(n), alpha, x, blasint(incX))
  }

  /// Calls `cblas_dnrm2`.
  @inlinable
  public static func _nrm2(n: Int, x: UnsafePointer<Double>, incX: Int) -> Double {
    cblas_dnrm2(blasint(n), x, blasint(incX))
  }

  /// Calls `LAPACKE_dgesdd`.
  public static func _gesdd(
    m: Int, n: Int, a: UnsafeMutablePointer<Double>, lda: Int, s: UnsafeMutablePointer<Double>,
    u: UnsafeMutablePointer<Double>, ldu: Int, vt: UnsafeMutablePointer<Double>, ldvt: Int
  ) -> Int {
    Int(
      LAPACKE_dgesdd(
        LAPACK_ROW_MAJOR, _lapackChar("S"), Int32(m), Int32(n), a, Int32(lda), s,
        u, Int32(ldu), vt, Int32(ldvt)))
  }

  /// Calls `LAPACKE_dgeqrf`.
  public static func _geqrf(
    m: Int, n: Int, a: UnsafeMutablePointer<Double>, lda: Int, tau: UnsafeMutablePointer<Double>
  ) -> Int {
    Int(LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), a, Int32(lda), tau))
  }

  /// Calls `LAPACKE_dorgqr`.
  public static func _orgqr(
    m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Double>, lda: Int, tau: UnsafePointer<Double>
  ) -> Int {
    Int(
      LAPACKE_dorgqr(
        LAPACK_ROW_MAJOR, Int32(m), Int32(n), Int32(k), a, Int32(lda), tau))
  }

  /// Calls `LAPACKE_dpotrf`.
  public static func _potrf(n: Int, a: UnsafeMutablePointer<Double>, lda: Int) -> Int {
    Int(LAPACKE_dpotrf(LAPACK_ROW_MAJOR, _lapackChar("L"), Int32(n), a, Int32(lda)))
  }

  /// Calls `LAPACKE_dgesv`.
  public static func _gesv(
    n: Int, nrhs: Int, a: UnsafeMutablePointer<Double>, lda: Int, ipiv: UnsafeMutablePointer<Int32>,
    b: UnsafeMutablePointer<Double>, ldb: Int
  ) -> Int {
    Int(
      LAPACKE_dgesv(
        LAPACK_ROW_MAJOR, Int32(n), Int32(nrhs), a, Int32(lda), ipiv, b,
        Int32(ldb)))
  }

  /// Calls `LAPACKE_dgelsd`.
  public static func _gelsd(
    m: Int, n: Int, nrhs: Int, a: UnsafeMutablePointer<Double>, lda: Int,
    b: UnsafeMutablePointer<Double>, ldb: Int, s: UnsafeMutablePointer<Double>, rcond: Double,
    rank: UnsafeMutablePointer<Int32>
  ) -> Int {
    Int(
      LAPACKE_dgelsd(
        LAPACK_ROW_MAJOR, Int32(m), Int32(n), Int32(nrhs), a, Int32(lda), b, Int32(ldb), s, rcond,
        rank))
  }

  /// Calls `LAPACKE_dsyevd`.
  public static func _syevd(
    n: Int, a: UnsafeMutablePointer<Double>, lda: Int, w: UnsafeMutablePointer<Double>
  ) -> Int {
    Int(
      LAPACKE_dsyevd(
        LAPACK_ROW_MAJOR, _lapackChar("V"), _lapackChar("L"), Int32(n), a, Int32(lda), w))
  }
}
