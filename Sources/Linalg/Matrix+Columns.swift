// Column blocks: attention keeps every head's vectors side by side in one row
// (`tokens × heads·d`), and works on one head's `tokens × d` block at a time.

extension Matrix {
  /// A copy of the columns in `range`: a `rows × range.count` matrix.
  ///
  /// - Precondition: `range` lies within `0..<columns`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func columns(_ range: Range<Int>) -> Matrix {
    _checkColumns(range, "columns")
    let (n, width) = (columns, range.count)
    return withUnsafeBufferPointer { source in
      Matrix(rows: rows, columns: width) { target in
        for i in 0..<rows {
          (target.baseAddress! + i * width).initialize(
            from: source.baseAddress! + i * n + range.lowerBound, count: width)
        }
      }
    }
  }

  /// Overwrites the columns in `range` with `block` (`rows × range.count`).
  public mutating func setColumns(_ range: Range<Int>, to block: Matrix) {
    _updateColumns(range, block, "setColumns") { $0 = $1 }
  }

  /// Adds `block` (`rows × range.count`) into the columns in `range`.
  public mutating func addColumns(_ range: Range<Int>, _ block: Matrix) {
    _updateColumns(range, block, "addColumns") { $0 += $1 }
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private mutating func _updateColumns(
    _ range: Range<Int>, _ block: Matrix, _ name: StaticString, _ update: (inout Scalar, Scalar) -> Void
  ) {
    _checkColumns(range, name)
    precondition(
      block.rows == rows && block.columns == range.count,
      "\(name): block \(block.rows)×\(block.columns) does not fit columns \(range) of \(rows)×\(columns)")
    let (m, n, width) = (rows, columns, range.count)
    block.withUnsafeBufferPointer { source in
      withUnsafeMutableBufferPointer { target in
        for i in 0..<m {
          for j in 0..<width { update(&target[i * n + range.lowerBound + j], source[i * width + j]) }
        }
      }
    }
  }

  private func _checkColumns(_ range: Range<Int>, _ name: StaticString) {
    precondition(
      range.lowerBound >= 0 && range.upperBound <= columns,
      "\(name): columns \(range) out of range for \(rows)×\(columns)")
  }
}
