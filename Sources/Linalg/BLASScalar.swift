import RealModule

/// A floating-point type that BLAS and LAPACK compute with: `Float` (the `s` routines)
/// or `Double` (the `d` routines).
///
/// Every `Linalg` kernel is generic over `BLASScalar`; each conformance forwards the
/// requirements below to the matching CBLAS or LAPACKE routine, as swift-numerics does
/// with `Real`. The requirements take raw row-major pointers and leading dimensions and
/// are the unchecked layer underneath `Matrix`: call them only through `Matrix`'s
/// checked API unless you are writing a new kernel.
///
/// LAPACK routines return LAPACK's `info`: 0 on success, `-i` when argument `i` was
/// illegal (a programming error), `> 0` for a data-dependent failure.
public protocol BLASScalar: Real, BinaryFloatingPoint, Sendable
where Magnitude == Self {
  // MARK: BLAS level 3 and 2

  /// `C ← α·op(A)·op(B) + β·C` (row-major `?gemm`); `op(A)` is `m × k`, `op(B)` is `k × n`.
  static func _gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Self, a: UnsafePointer<Self>, lda: Int,
    b: UnsafePointer<Self>, ldb: Int,
    beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

  /// `y ← α·op(A)·x + β·y` (row-major `?gemv`); `A` is `m × n` as stored.
  static func _gemv(
    transpose: Bool, m: Int, n: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
    x: UnsafePointer<Self>, incX: Int, beta: Self, y: UnsafeMutablePointer<Self>, incY: Int)

  // MARK: BLAS level 1

  /// `y ← α·x + y` over `n` elements (`?axpy`).
  static func _axpy(
    n: Int, alpha: Self, x: UnsafePointer<Self>, incX: Int,
    y: UnsafeMutablePointer<Self>, incY: Int)
  /// `Σ xᵢ·yᵢ` over `n` elements (`?dot`).
  static func _dot(
    n: Int, x: UnsafePointer<Self>, incX: Int, y: UnsafePointer<Self>, incY: Int
  ) -> Self
  /// `x ← α·x` over `n` elements (`?scal`).
  static func _scal(n: Int, alpha: Self, x: UnsafeMutablePointer<Self>, incX: Int)
  /// `‖x‖₂` over `n` elements, computed without overflow (`?nrm2`).
  static func _nrm2(n: Int, x: UnsafePointer<Self>, incX: Int) -> Self

  // MARK: LAPACK (row-major LAPACKE)

  /// Thin SVD by divide and conquer (`?gesdd`, `jobz = 'S'`).
  static func _gesdd(
    m: Int, n: Int, a: UnsafeMutablePointer<Self>, lda: Int, s: UnsafeMutablePointer<Self>,
    u: UnsafeMutablePointer<Self>, ldu: Int, vt: UnsafeMutablePointer<Self>, ldvt: Int
  ) -> Int
  /// Householder QR (`?geqrf`).
  static func _geqrf(
    m: Int, n: Int, a: UnsafeMutablePointer<Self>, lda: Int, tau: UnsafeMutablePointer<Self>
  )
    -> Int
  /// Forms the first `n` columns of Q from `?geqrf`'s reflectors (`?orgqr`).
  static func _orgqr(
    m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Self>, lda: Int, tau: UnsafePointer<Self>
  )
    -> Int
  /// Cholesky factor `A = L·Lᵀ`, lower triangle (`?potrf`, `uplo = 'L'`).
  static func _potrf(n: Int, a: UnsafeMutablePointer<Self>, lda: Int) -> Int
  /// LU solve `A·X = B` with partial pivoting (`?gesv`).
  static func _gesv(
    n: Int, nrhs: Int, a: UnsafeMutablePointer<Self>, lda: Int, ipiv: UnsafeMutablePointer<Int32>,
    b: UnsafeMutablePointer<Self>, ldb: Int
  ) -> Int
  /// Minimum-norm least squares `min ‖A·X − B‖` by the SVD (`?gelsd`); singular values
  /// below `rcond·σ₁` count as zero (`rcond < 0`: machine precision); `rank` receives the
  /// effective rank.
  static func _gelsd(
    m: Int, n: Int, nrhs: Int, a: UnsafeMutablePointer<Self>, lda: Int,
    b: UnsafeMutablePointer<Self>, ldb: Int, s: UnsafeMutablePointer<Self>, rcond: Self,
    rank: UnsafeMutablePointer<Int32>
  ) -> Int
  /// Eigenvalues (ascending) and eigenvectors of a symmetric matrix (`?syevd`, `jobz = 'V'`,
  /// lower triangle).
  static func _syevd(n: Int, a: UnsafeMutablePointer<Self>, lda: Int, w: UnsafeMutablePointer<Self>)
    -> Int

  // MARK: Kernels
  //
  // Element-wise loops behind `Matrix`'s methods. Their default implementations (in
  // `BLASScalar+Kernels.swift`) are generic; each conformance's witness is a copy the
  // compiler specialises for that scalar, so code that is itself generic over the scalar
  // (the `MoE` module) still runs specialised loops: one dynamic call per matrix, not one
  // per element (measured: a 64×256→688 SwiGLU block from generic code, 4.7 ms → 1.1 ms).

  /// `x ← f(x)`, or `x ← f′(x)` when `derivative`, for every element.
  static func _applyKernel(
    _ x: UnsafeMutableBufferPointer<Self>, _ function: ElementwiseFunction, derivative: Bool)
  /// `g ← f(g) ⊙ u` element by element: the hidden layer of a gated feed-forward network.
  static func _applyGatedKernel(
    _ g: UnsafeMutableBufferPointer<Self>, _ u: UnsafeBufferPointer<Self>, _ function: ElementwiseFunction)
  /// `a ← a ∘ b` element by element, or `a[i, j] ← a[i, j] ∘ b[j]` when `broadcast`.
  static func _combineKernel(
    _ a: UnsafeMutableBufferPointer<Self>, _ b: UnsafeBufferPointer<Self>, columns: Int, broadcast: Bool,
    _ operation: _ElementwiseOperation)
  /// `a[i, :] ← factors[i] · a[i, :]`.
  static func _scaleRowsKernel(
    _ a: UnsafeMutableBufferPointer<Self>, columns: Int, _ factors: UnsafeBufferPointer<Self>)
  /// `row[j] ← e^(row[j] − shift)`, returning their sum (`shift` ≥ every entry).
  static func _expShiftedSum(_ row: UnsafeMutableBufferPointer<Self>, shift: Self) -> Self
  /// Row softmax or log-softmax in place (see `Matrix+Softmax.swift` for special rows).
  static func _softmaxRowsKernel(_ a: UnsafeMutableBufferPointer<Self>, columns: Int, logarithm: Bool)
  /// Row normalisation in place: RMSNorm, or LayerNorm when `centered` (with `bias`).
  static func _normalizeRowsKernel(
    _ a: UnsafeMutableBufferPointer<Self>, columns: Int, gain: UnsafeBufferPointer<Self>,
    bias: UnsafeBufferPointer<Self>?, epsilon: Self, centered: Bool)
  /// `target[r, :] ← source[indices[r], :]`.
  static func _gatherRowsKernel(
    _ source: UnsafeBufferPointer<Self>, columns: Int, _ indices: UnsafeBufferPointer<Int>,
    _ target: UnsafeMutableBufferPointer<Self>)
  /// `target[indices[r], :] += weights[r] · source[r, :]`, in order of `r`.
  static func _scatterAddRowsKernel(
    _ source: UnsafeBufferPointer<Self>, columns: Int, _ indices: UnsafeBufferPointer<Int>,
    _ weights: UnsafeBufferPointer<Self>?, _ target: UnsafeMutableBufferPointer<Self>)
}

/// The binary operations of `BLASScalar._combineKernel`.
public enum _ElementwiseOperation: Sendable {
  /// `a + b`.
  case add
  /// `a − b`.
  case subtract
  /// `a · b`.
  case multiply
}
