/// A data-dependent failure of a LAPACK routine (`info > 0`): the input was valid but the
/// factorisation or solve cannot be done with it.
///
/// Programming errors (mismatched shapes, `info < 0`) are preconditions, not errors.
public enum LinalgError: Error, Equatable, Sendable, CustomStringConvertible {
  /// `U(pivot, pivot)` of the LU factorisation is exactly zero (1-based, as LAPACK says).
  case singular(routine: String, pivot: Int)
  /// The leading minor of order `order` is not positive (the matrix is not positive
  /// definite).
  case notPositiveDefinite(routine: String, order: Int)
  /// The iteration did not converge; `info` is LAPACK's count of what did not.
  case noConvergence(routine: String, info: Int)

  /// What failed, in which routine, and LAPACK's value.
  public var description: String {
    switch self {
    case .singular(let routine, let pivot):
      "\(routine): matrix is singular (U(\(pivot),\(pivot)) is exactly zero)"
    case .notPositiveDefinite(let routine, let order):
      "\(routine): matrix is not positive definite (leading minor of order \(order) is not positive)"
    case .noConvergence(let routine, let info):
      "\(routine): did not converge (info = \(info))"
    }
  }
}

/// Turns LAPACK's `info` into the outcome: 0 returns, `< 0` traps (an argument was
/// illegal, which is a bug in `Linalg`), `> 0` throws `failure(info)`.
func _checkLAPACK(_ info: Int, _ routine: String, failure: (Int) -> LinalgError) throws {
  precondition(info >= 0, "\(routine): argument \(-info) was illegal (info = \(info))")
  if info > 0 { throw failure(info) }
}
