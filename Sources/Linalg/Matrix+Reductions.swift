// Row and column reductions. Each returns a plain array: `rows` values for a row
// reduction, `columns` values for a column one (wrap one in `Matrix(row:)` to broadcast).

extension Matrix {
  /// `Σⱼ xᵢⱼ` for every row `i`.
  @inlinable
  public func rowSums() -> [Scalar] {
    // Index loops, not slices: a generic caller would otherwise pay for slice metadata on
    // every row (RMSNorm's backward pass spent a fifth of a training step there).
    withUnsafeBufferPointer { p in
      (0..<rows).map { i in
        var sum: Scalar = 0
        for j in i * columns..<(i + 1) * columns { sum += p[j] }
        return sum
      }
    }
  }

  /// `Σᵢ xᵢⱼ` for every column `j`.
  @inlinable
  public func columnSums() -> [Scalar] {
    var sums = [Scalar](repeating: 0, count: columns)
    withUnsafeBufferPointer { p in
      for i in 0..<rows {
        for j in 0..<columns { sums[j] += p[i * columns + j] }
      }
    }
    return sums
  }

  /// The rows holding NaN or an infinity, in order.
  @inlinable
  public func nonFiniteRows() -> [Int] {
    withUnsafeBufferPointer { p in
      (0..<rows).filter { i in !p[i * columns..<(i + 1) * columns].allSatisfy(\.isFinite) }
    }
  }

  /// The mean of every row (NaN for rows of no columns).
  @inlinable
  public func rowMeans() -> [Scalar] {
    rowSums().map { $0 / Scalar(columns) }
  }

  /// The mean of every column (NaN when there are no rows).
  @inlinable
  public func columnMeans() -> [Scalar] {
    columnSums().map { $0 / Scalar(rows) }
  }

  /// The index of every row's largest element, the lowest index among equals.
  ///
  /// NaN ranks below every number (as in `topKRows`), so a row's NaNs are chosen only
  /// when it holds nothing else.
  /// - Precondition: `columns > 0`.
  @inlinable
  public func rowArgmax() -> [Int] {
    precondition(columns > 0, "rowArgmax: a \(rows)×\(columns) matrix has no columns")
    return withUnsafeBufferPointer { p in
      (0..<rows).map { i in
        var best = 0
        for j in 1..<columns where _ranksAbove(p[i * columns + j], p[i * columns + best]) {
          best = j
        }
        return best
      }
    }
  }

  /// The largest element of every row: `self[i, rowArgmax()[i]]`.
  ///
  /// - Precondition: `columns > 0`.
  @inlinable
  public func rowMax() -> [Scalar] {
    zip(0..<rows, rowArgmax()).map { self[$0, $1] }
  }

  /// The largest difference between `self` and `reference`, relative to `reference`'s largest
  /// magnitude: `max|a − b| / max|b|` (in `Double`; `∞` for different shapes or a NaN; the
  /// denominator is at least 1e-30). How far one computation strays from another, as a share
  /// of the values' scale.
  public func largestDifference(relativeTo reference: Matrix) -> Double {
    guard shape == reference.shape else { return .infinity }
    var (largest, scale) = (0.0, 1e-30)
    for (u, v) in zip(elements, reference.elements) {
      let gap = abs(Double(u) - Double(v))
      if gap.isNaN { return .infinity }
      largest = Swift.max(largest, gap)
      scale = Swift.max(scale, abs(Double(v)))
    }
    return largest / scale
  }
}

/// The order `rowArgmax` and `topKRows` rank by: larger first, NaN below everything.
@inlinable
func _ranksAbove<Scalar: BLASScalar>(_ x: Scalar, _ y: Scalar) -> Bool {
  if x.isNaN { return false }
  if y.isNaN { return true }
  return x > y
}
