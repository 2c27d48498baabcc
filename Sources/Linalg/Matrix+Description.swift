extension Matrix: CustomStringConvertible {
  /// The shape and the elements, one row per line. Matrices with more than 8 rows or
  /// columns show their first and last 3 of each, with `…` standing for the rest.
  public var description: String {
    let shown = 3
    func indices(_ n: Int) -> [Int?] {
      n <= 2 * shown + 2 ? (0..<n).map { $0 } : (0..<shown).map { $0 } + [nil] + (n - shown..<n).map { $0 }
    }
    let rowIndices = indices(rows)
    let columnIndices = indices(columns)
    let cells: [[String]] = rowIndices.map { i in
      columnIndices.map { j in
        guard let i, let j else { return "…" }
        return "\(self[i, j])"
      }
    }
    let width = cells.joined().map(\.count).max() ?? 0
    let lines = cells.map { row in
      "[" + row.map { String(repeating: " ", count: width - $0.count) + $0 }.joined(separator: ", ") + "]"
    }
    return "Matrix<\(Scalar.self)> \(rows)×\(columns)"
      + (lines.isEmpty ? "" : "\n" + lines.joined(separator: "\n"))
  }
}

extension Matrix {
  /// The largest `|selfᵢⱼ − otherᵢⱼ|`, counting equal elements (equal infinities too) as
  /// 0 apart; NaN if either holds a NaN.
  ///
  /// - Precondition: equal shapes.
  public func maxAbsoluteDifference(to other: Matrix) -> Scalar {
    precondition(
      shape == other.shape,
      "maxAbsoluteDifference: shapes \(rows)×\(columns) and \(other.rows)×\(other.columns) differ")
    return withUnsafeBufferPointer { a in
      other.withUnsafeBufferPointer { b in
        var worst: Scalar = 0
        for (x, y) in zip(a, b) where x != y {
          let d = abs(x - y)
          if d.isNaN { return .nan }
          worst = Swift.max(worst, d)
        }
        return worst
      }
    }
  }

  /// Whether every pair of elements satisfies
  /// `|a − b| ≤ max(absoluteTolerance, relativeTolerance · max(|a|, |b|))`
  /// (the rule of swift-numerics' `isApproximatelyEqual`). Equal infinities match; NaN
  /// matches nothing; different shapes are not equal.
  ///
  /// - Parameters:
  ///   - absoluteTolerance: the floor, for elements near zero (default 0).
  ///   - relativeTolerance: the relative bound (default `√ε` of `Scalar`).
  ///   - other: the matrix to compare with.
  public func isApproximatelyEqual(
    to other: Matrix, absoluteTolerance: Scalar = 0,
    relativeTolerance: Scalar = Scalar.ulpOfOne.squareRoot()
  ) -> Bool {
    guard shape == other.shape else { return false }
    return withUnsafeBufferPointer { a in
      other.withUnsafeBufferPointer { b in
        zip(a, b).allSatisfy { x, y in
          if x == y { return true }
          let tolerance = Swift.max(absoluteTolerance, relativeTolerance * Swift.max(abs(x), abs(y)))
          return abs(x - y) <= tolerance
        }
      }
    }
  }
}
