/// A thin singular value decomposition `A = U·diag(S)·Vᵀ` of an `m × n` matrix, with
/// `r = min(m, n)`.
public struct SingularValueDecomposition<Scalar: BLASScalar>: Sendable {
  /// `m × r`, orthonormal columns (left singular vectors).
  public var u: Matrix<Scalar>
  /// `r` singular values, non-negative and descending.
  public var singularValues: [Scalar]
  /// `r × n`, orthonormal rows (right singular vectors, transposed).
  public var vt: Matrix<Scalar>
}
