// BLAS level 1 on matrices read as flat vectors (all elements, row-major order).

/// `y ← α·x + y` (`?axpy`).
///
/// - Precondition: `x.count == y.count` (shapes may differ).
/// - Complexity: `2·n` flops.
public func axpy<Scalar: BLASScalar>(_ alpha: Scalar, _ x: Matrix<Scalar>, _ y: inout Matrix<Scalar>) {
  precondition(
    x.count == y.count,
    "axpy: x \(x.rows)×\(x.columns) and y \(y.rows)×\(y.columns) hold different element counts")
  guard x.count > 0 else { return }
  x.withUnsafeBufferPointer { px in
    y.withUnsafeMutableBufferPointer { py in
      Scalar._axpy(n: px.count, alpha: alpha, x: px.baseAddress!, incX: 1, y: py.baseAddress!, incY: 1)
    }
  }
}

/// `Σᵢ xᵢ·yᵢ` over all elements (`?dot`).
///
/// - Precondition: `x.count == y.count` (shapes may differ).
/// - Complexity: `2·n` flops.
public func dot<Scalar: BLASScalar>(_ x: Matrix<Scalar>, _ y: Matrix<Scalar>) -> Scalar {
  precondition(
    x.count == y.count,
    "dot: x \(x.rows)×\(x.columns) and y \(y.rows)×\(y.columns) hold different element counts")
  guard x.count > 0 else { return 0 }
  return x.withUnsafeBufferPointer { px in
    y.withUnsafeBufferPointer { py in
      Scalar._dot(n: px.count, x: px.baseAddress!, incX: 1, y: py.baseAddress!, incY: 1)
    }
  }
}

extension Matrix {
  /// Multiplies every element by `alpha` in place (`?scal`).
  public mutating func scale(by alpha: Scalar) {
    guard count > 0 else { return }
    withUnsafeMutableBufferPointer { p in
      Scalar._scal(n: p.count, alpha: alpha, x: p.baseAddress!, incX: 1)
    }
  }

  /// The Euclidean (Frobenius) norm `√(Σ xᵢⱼ²)`, computed without overflow (`?nrm2`).
  public var norm: Scalar {
    guard count > 0 else { return 0 }
    return withUnsafeBufferPointer { p in Scalar._nrm2(n: p.count, x: p.baseAddress!, incX: 1) }
  }
}
