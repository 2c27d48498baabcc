// Element-wise arithmetic with row-vector broadcasting.
//
// Broadcasting rule: the right-hand operand has the left's shape, or is a `1 × columns`
// row vector applied to every row (a bias added to every token).

extension Matrix {
  /// `self[i, j] ← self[i, j] ∘ other[i, j]`, or `∘ other[0, j]` for a row vector.
  mutating func _combine(_ other: Matrix, _ name: StaticString, _ operation: _ElementwiseOperation) {
    let broadcast = other.rows == 1 && rows != 1
    precondition(
      other.columns == columns && (other.rows == rows || broadcast),
      "\(name): \(other.rows)×\(other.columns) is neither \(rows)×\(columns) nor a 1×\(columns) row vector"
    )
    let n = columns
    other.withUnsafeBufferPointer { b in
      withUnsafeMutableBufferPointer { a in
        Scalar._combineKernel(a, b, columns: n, broadcast: broadcast, operation)
      }
    }
  }

  /// Adds `other` (same shape, or a `1 × columns` row vector broadcast over rows) in place.
  public mutating func add(_ other: Matrix) { _combine(other, "add", .add) }

  /// Subtracts `other` (same shape, or a broadcast `1 × columns` row vector) in place.
  public mutating func subtract(_ other: Matrix) { _combine(other, "subtract", .subtract) }

  /// Multiplies element by element with `other` (same shape, or a broadcast `1 × columns`
  /// row vector; the Hadamard product `⊙`) in place.
  public mutating func multiplyElementwise(by other: Matrix) {
    _combine(other, "multiplyElementwise", .multiply)
  }

  /// Multiplies row `i` by `factors[i]` for every row, in place (a column-vector
  /// broadcast: per-token gates and normalisers).
  ///
  /// - Precondition: `factors.count == rows`.
  public mutating func scaleRows(by factors: [Scalar]) {
    precondition(factors.count == rows, "scaleRows: \(factors.count) factors for \(rows) rows")
    let n = columns
    factors.withUnsafeBufferPointer { f in
      withUnsafeMutableBufferPointer { a in Scalar._scaleRowsKernel(a, columns: n, f) }
    }
  }

  /// The Hadamard product `self ⊙ other` (same shape, or a broadcast `1 × columns` row vector).
  public func elementwiseProduct(_ other: Matrix) -> Matrix {
    var result = self
    result.multiplyElementwise(by: other)
    return result
  }

  /// `lhs + rhs`; `rhs` may be a `1 × columns` row vector broadcast over rows.
  public static func + (lhs: Matrix, rhs: Matrix) -> Matrix {
    var result = lhs
    result.add(rhs)
    return result
  }

  /// `lhs − rhs`; `rhs` may be a `1 × columns` row vector broadcast over rows.
  public static func - (lhs: Matrix, rhs: Matrix) -> Matrix {
    var result = lhs
    result.subtract(rhs)
    return result
  }

  /// Adds `rhs` in place (see `+`).
  public static func += (lhs: inout Matrix, rhs: Matrix) { lhs.add(rhs) }

  /// Subtracts `rhs` in place (see `-`).
  public static func -= (lhs: inout Matrix, rhs: Matrix) { lhs.subtract(rhs) }

  /// Every element times `scalar`.
  public static func * (lhs: Matrix, scalar: Scalar) -> Matrix {
    var result = lhs
    result.scale(by: scalar)
    return result
  }

  /// Every element times `scalar`.
  public static func * (scalar: Scalar, rhs: Matrix) -> Matrix { rhs * scalar }

  /// Multiplies every element by `scalar` in place.
  public static func *= (lhs: inout Matrix, scalar: Scalar) { lhs.scale(by: scalar) }

  /// The element-wise negation.
  public static prefix func - (operand: Matrix) -> Matrix { operand * -1 }
}
