// Row gather and weighted row scatter-add: MoE dispatch copies each expert's tokens into
// a contiguous block (gather), and combine adds each expert's outputs back to their
// tokens, scaled by the router's weights (scatter-add).

extension Matrix {
  /// Writes `self[indices[r]]` into row `r` of `output`, for every `r`.
  ///
  /// - Parameters:
  ///   - indices: rows of `self` to read, any order, repeats allowed.
  ///   - output: `indices.count × columns`, overwritten (no allocation).
  @inlinable
  public func gatherRows(_ indices: [Int], into output: inout Matrix) {
    precondition(
      output.rows == indices.count && output.columns == columns,
      "gatherRows: \(indices.count) rows of a \(rows)×\(columns) matrix do not fit \(output.rows)×\(output.columns)"
    )
    let n = columns
    let sourceRows = rows
    withUnsafeBufferPointer { source in
      output.withUnsafeMutableBufferPointer { target in
        for (r, i) in indices.enumerated() {
          precondition(i >= 0 && i < sourceRows, "gatherRows: row index \(i) out of range 0..<\(sourceRows)")
          _ = UnsafeMutableBufferPointer(rebasing: target[r * n..<(r + 1) * n])
            .update(fromContentsOf: source[i * n..<(i + 1) * n])
        }
      }
    }
  }

  /// The rows `self[indices[0]], self[indices[1]], …` as a new `indices.count × columns` matrix.
  @inlinable
  public func gatheringRows(_ indices: [Int]) -> Matrix {
    var output = Matrix(rows: indices.count, columns: columns)
    gatherRows(indices, into: &output)
    return output
  }

  /// `self[indices[r]] += weights[r] · source[r]` for every row `r` of `source`, in order
  /// of `r` (so the result is deterministic when indices repeat).
  ///
  /// - Parameters:
  ///   - source: `indices.count × columns`.
  ///   - indices: rows of `self` to add into; repeats accumulate.
  ///   - weights: one factor per row of `source`, or `nil` for all ones.
  @inlinable
  public mutating func scatterAddRows(_ source: Matrix, to indices: [Int], weights: [Scalar]? = nil) {
    precondition(
      source.rows == indices.count && source.columns == columns,
      "scatterAddRows: source \(source.rows)×\(source.columns) does not match \(indices.count) indices into \(rows)×\(columns)"
    )
    precondition(
      weights == nil || weights!.count == indices.count,
      "scatterAddRows: \(weights?.count ?? 0) weights for \(indices.count) rows")
    let n = columns
    let targetRows = rows
    source.withUnsafeBufferPointer { s in
      withUnsafeMutableBufferPointer { t in
        for (r, i) in indices.enumerated() {
          precondition(
            i >= 0 && i < targetRows, "scatterAddRows: row index \(i) out of range 0..<\(targetRows)")
          let w = weights?[r] ?? 1
          for j in 0..<n { t[i * n + j] += w * s[r * n + j] }
        }
      }
    }
  }
}
