// Row gather and weighted row scatter-add: MoE dispatch copies each expert's tokens into
// a contiguous block (gather), and combine adds each expert's outputs back to their
// tokens, scaled by the router's weights (scatter-add).

extension Matrix {
  /// Writes `self[indices[r]]` into row `r` of `output`, for every `r`.
  ///
  /// - Parameters:
  ///   - indices: rows of `self` to read, any order, repeats allowed.
  ///   - output: `indices.count × columns`, overwritten (no allocation).
  public func gatherRows(_ indices: [Int], into output: inout Matrix) {
    gatherRows(indices[...], into: &output)
  }

  /// Writes `self[indices[r]]` into row `r` of `output` for every position `r` of a slice
  /// of indices (row `r − indices.startIndex`), so a block of a larger index array
  /// needs no copy.
  public func gatherRows(_ indices: ArraySlice<Int>, into output: inout Matrix) {
    precondition(
      output.rows == indices.count && output.columns == columns,
      "gatherRows: \(indices.count) rows of a \(rows)×\(columns) matrix do not fit \(output.rows)×\(output.columns)"
    )
    _checkRowIndices(indices, "gatherRows")
    let n = columns
    withUnsafeBufferPointer { source in
      indices.withUnsafeBufferPointer { index in
        output.withUnsafeMutableBufferPointer { Scalar._gatherRowsKernel(source, columns: n, index, $0) }
      }
    }
  }

  /// The rows `self[indices[0]], self[indices[1]], …` as a new `indices.count × columns` matrix.
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
  public mutating func scatterAddRows(_ source: Matrix, to indices: [Int], weights: [Scalar]? = nil) {
    scatterAddRows(source, to: indices[...], weights: weights?[...])
  }

  /// `scatterAddRows` for slices of larger index and weight arrays (no copies).
  public mutating func scatterAddRows(
    _ source: Matrix, to indices: ArraySlice<Int>, weights: ArraySlice<Scalar>?
  ) {
    precondition(
      source.rows == indices.count && source.columns == columns,
      "scatterAddRows: source \(source.rows)×\(source.columns) does not match \(indices.count) indices into \(rows)×\(columns)"
    )
    precondition(
      weights == nil || weights!.count == indices.count,
      "scatterAddRows: \(weights?.count ?? 0) weights for \(indices.count) rows")
    _checkRowIndices(indices, "scatterAddRows")
    let n = columns
    source.withUnsafeBufferPointer { s in
      indices.withUnsafeBufferPointer { index in
        withUnsafeMutableBufferPointer { t in
          if let weights {
            weights.withUnsafeBufferPointer { Scalar._scatterAddRowsKernel(s, columns: n, index, $0, t) }
          } else {
            Scalar._scatterAddRowsKernel(s, columns: n, index, nil, t)
          }
        }
      }
    }
  }

  /// Traps unless every index is a row of this matrix.
  func _checkRowIndices(_ indices: ArraySlice<Int>, _ name: StaticString) {
    for i in indices {
      precondition(i >= 0 && i < rows, "\(name): row index \(i) out of range 0..<\(rows)")
    }
  }
}
