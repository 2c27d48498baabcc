/// `A = Q·R` for an `m × n` matrix, with `r = min(m, n)`.
public struct QRDecomposition<Scalar: BLASScalar>: Sendable {
  /// `m × r`, orthonormal columns (`QᵀQ = I`).
  public var q: Matrix<Scalar>
  /// `r × n`, upper triangular (zeros below the diagonal).
  public var r: Matrix<Scalar>
}
