/// The `k` largest entries of every row of a matrix, best first.
///
/// Ties go to the lower column index; NaN ranks below every number (so it is chosen only
/// when a row has fewer than `k` numbers). This is the selection step of top-k routing:
/// `indices` are the chosen experts, `values` their scores.
public struct TopK<Scalar: BLASScalar>: Sendable {
  /// `rows × k`: row `i` holds its `k` largest entries, descending.
  public var values: Matrix<Scalar>
  /// `rows · k` column indices, row-major: `indices[i * k + r]` is where `values[i, r]`
  /// came from.
  public var indices: [Int]
  /// A selection from its values and their column indices.
  ///
  /// - Precondition: `indices.count == values.count`.
  @inlinable
  public init(values: Matrix<Scalar>, indices: [Int]) {
    precondition(
      indices.count == values.count,
      "TopK: \(indices.count) indices for \(values.rows)×\(values.columns) values")
    self.values = values
    self.indices = indices
  }

  /// How many entries were kept per row.
  public var k: Int { values.columns }

  /// The column index of row `row`'s entry of rank `rank` (0 is the largest).
  @inlinable
  public func index(row: Int, rank: Int) -> Int {
    precondition(rank >= 0 && rank < k, "TopK.index: rank \(rank) out of range for k = \(k)")
    return indices[row * k + rank]
  }
}

extension Matrix {
  /// The `k` largest entries of every row and their column indices, best first.
  ///
  /// - Parameter k: `0...columns`.
  /// - Returns: `rows × k` values and `rows · k` indices (see `TopK` for ties and NaN).
  /// - Complexity: O(rows · columns · k) for `k ≤ 16` (insertion into a sorted run),
  ///   O(rows · columns · log columns) above (a sort).
  @inlinable
  public func topKRows(_ k: Int) -> TopK<Scalar> {
    precondition(
      k >= 0 && k <= columns, "topKRows: k = \(k) is outside 0...\(columns) for a \(rows)×\(columns) matrix")
    var indices = [Int](repeating: 0, count: rows * k)
    let n = columns
    let values = withUnsafeBufferPointer { p in
      Matrix(rows: rows, columns: k) { out in
        indices.withUnsafeMutableBufferPointer { idx in
          for i in 0..<rows {
            let row = UnsafeBufferPointer(rebasing: p[i * n..<(i + 1) * n])
            let best = UnsafeMutableBufferPointer(rebasing: idx[i * k..<(i + 1) * k])
            if k <= 16 { Matrix._insertionTopK(row, into: best) } else { Matrix._sortedTopK(row, into: best) }
            for r in 0..<k { (out.baseAddress! + (i * k + r)).initialize(to: row[best[r]]) }
          }
        }
      }
    }
    return TopK(values: values, indices: indices)
  }

  /// Keeps the best `best.count` column indices of `row` in rank order by inserting each
  /// entry into a sorted run; scanning columns in order keeps earlier ones first on ties.
  @inlinable
  static func _insertionTopK(_ row: UnsafeBufferPointer<Scalar>, into best: UnsafeMutableBufferPointer<Int>) {
    let k = best.count
    guard k > 0 else { return }
    var filled = 0
    for j in row.indices {
      if filled == k && !_ranksAbove(row[j], row[best[k - 1]]) { continue }
      var position = Swift.min(filled, k - 1)
      while position > 0 && _ranksAbove(row[j], row[best[position - 1]]) {
        best[position] = best[position - 1]
        position -= 1
      }
      best[position] = j
      filled = Swift.min(filled + 1, k)
    }
  }

  /// Keeps the best `best.count` column indices of `row` in rank order by sorting all of
  /// them (ties by index).
  @inlinable
  static func _sortedTopK(_ row: UnsafeBufferPointer<Scalar>, into best: UnsafeMutableBufferPointer<Int>) {
    let order = row.indices.sorted { a, b in
      _ranksAbove(row[a], row[b]) || (!_ranksAbove(row[b], row[a]) && a < b)
    }
    for r in best.indices { best[r] = order[r] }
  }
}
