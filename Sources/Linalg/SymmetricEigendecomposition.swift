/// Eigenvalues and eigenvectors of a symmetric `n × n` matrix: `A·V = V·diag(λ)`.
public struct SymmetricEigendecomposition<Scalar: BLASScalar>: Sendable {
  /// `n` eigenvalues, ascending.
  public var eigenvalues: [Scalar]
  /// `n × n`; column `j` is the unit eigenvector of `eigenvalues[j]`.
  public var eigenvectors: Matrix<Scalar>
}
