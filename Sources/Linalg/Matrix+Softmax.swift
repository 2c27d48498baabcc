import RealModule

// Row-wise softmax, log-softmax and log-sum-exp, all computed after subtracting the
// row's maximum so that no exponential overflows (logits of ±1e4 are fine).
//
// Special rows, defined so that masks work and bugs stay visible:
// - a row holding NaN gives NaN everywhere in that row;
// - a row whose maximum is `-inf` (every entry masked, or no columns) has softmax 0,
//   log-softmax `-inf` and log-sum-exp `-inf` (an attention row that sees nothing
//   contributes nothing);
// - a row holding `+inf` splits the probability equally among its `+inf` entries (the
//   limit of softmax), so log-sum-exp is `+inf`.

extension Matrix {
  /// Replaces each row `x` by `softmax(x)ᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m)`, `m = maxⱼ xⱼ`.
  ///
  /// See the file comment for NaN and infinite entries.
  public mutating func formSoftmaxRows() {
    let n = columns
    withUnsafeMutableBufferPointer { Scalar._softmaxRowsKernel($0, columns: n, logarithm: false) }
  }

  /// The row-wise softmax (see `formSoftmaxRows`).
  public func softmaxRows() -> Matrix {
    var result = self
    result.formSoftmaxRows()
    return result
  }

  /// The gradient through a row softmax: with `self` the probabilities `P = softmax(S)`
  /// and `gradient` `∂L/∂P`, returns `∂L/∂S = P ⊙ (∂L/∂P − rowsum(P ⊙ ∂L/∂P))`.
  ///
  /// - Precondition: both matrices have the same shape.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func softmaxRowsBackward(_ gradient: Matrix) -> Matrix {
    precondition(
      rows == gradient.rows && columns == gradient.columns,
      "softmaxRowsBackward: probabilities \(rows)×\(columns), gradient \(gradient.rows)×\(gradient.columns)")
    var result = elementwiseProduct(gradient)
    let sums = result.rowSums()
    let n = columns
    withUnsafeBufferPointer { p in
      result.withUnsafeMutableBufferPointer { r in
        for i in 0..<rows {
          for j in 0..<n { r[i * n + j] -= p[i * n + j] * sums[i] }
        }
      }
    }
    return result
  }

  /// Replaces each row `x` by `log softmax(x)ᵢ = xᵢ − m − log Σⱼ exp(xⱼ − m)`.
  ///
  /// See the file comment for NaN and infinite entries.
  public mutating func formLogSoftmaxRows() {
    let n = columns
    withUnsafeMutableBufferPointer { Scalar._softmaxRowsKernel($0, columns: n, logarithm: true) }
  }

  /// The row-wise log-softmax (see `formLogSoftmaxRows`).
  public func logSoftmaxRows() -> Matrix {
    var result = self
    result.formLogSoftmaxRows()
    return result
  }

  /// `log Σⱼ exp(xᵢⱼ)` for every row `i`, computed as `m + log Σⱼ exp(xᵢⱼ − m)`.
  ///
  /// - Returns: `rows` values (see the file comment for NaN and infinite entries).
  @inlinable
  public func logSumExpRows() -> [Scalar] {
    withUnsafeBufferPointer { p in
      (0..<rows).map { i in
        Matrix._logSumExp(UnsafeBufferPointer(rebasing: p[i * columns..<(i + 1) * columns]))
      }
    }
  }

  @inlinable
  static func _logSumExp(_ row: UnsafeBufferPointer<Scalar>) -> Scalar {
    let m = _rowMaximum(row)
    guard m.isFinite else { return m }
    var sum: Scalar = 0
    for x in row { sum += Scalar.exp(x - m) }
    return m + Scalar.log(sum)
  }

  /// The row's maximum; NaN if it holds a NaN, `-inf` if it is empty.
  @inlinable
  static func _rowMaximum(_ row: some Collection<Scalar>) -> Scalar {
    var m = -Scalar.infinity
    for x in row {
      if x.isNaN { return .nan }
      if x > m { m = x }
    }
    return m
  }
}
