// Row normalisations: the norms of transformer blocks, one token per row.

extension Matrix {
  /// Replaces each row `x` by `x / √(mean(x²) + ε) ⊙ gain` (RMSNorm; Zhang & Sennrich 2019,
  /// arXiv 1910.07467).
  ///
  /// - Parameters:
  ///   - gain: `1 × columns`.
  ///   - epsilon: `ε`, added to the mean square.
  public mutating func rmsNormalizeRows(gain: Matrix, epsilon: Scalar) {
    _normalizeRows(gain: gain, bias: nil, epsilon: epsilon, centered: false, "rmsNormalizeRows")
  }

  /// Replaces each row `x` by `(x − mean(x)) / √(var(x) + ε) ⊙ gain + bias`, with the
  /// population variance (LayerNorm; Ba, Kiros & Hinton 2016, arXiv 1607.06450).
  ///
  /// - Parameters:
  ///   - gain: `1 × columns`.
  ///   - bias: `1 × columns`.
  ///   - epsilon: `ε`, added to the variance.
  public mutating func layerNormalizeRows(gain: Matrix, bias: Matrix, epsilon: Scalar) {
    _normalizeRows(gain: gain, bias: bias, epsilon: epsilon, centered: true, "layerNormalizeRows")
  }

  mutating func _normalizeRows(
    gain: Matrix, bias: Matrix?, epsilon: Scalar, centered: Bool, _ name: StaticString
  ) {
    precondition(
      gain.shape == (1, columns) && (bias == nil || bias!.shape == (1, columns)),
      "\(name): gain \(gain.rows)×\(gain.columns)\(bias.map { " and bias \($0.rows)×\($0.columns)" } ?? "") must be 1×\(columns)"
    )
    let n = columns
    gain.withUnsafeBufferPointer { g in
      withUnsafeMutableBufferPointer { a in
        if let bias {
          bias.withUnsafeBufferPointer {
            Scalar._normalizeRowsKernel(
              a, columns: n, gain: g, bias: $0, epsilon: epsilon, centered: centered)
          }
        } else {
          Scalar._normalizeRowsKernel(a, columns: n, gain: g, bias: nil, epsilon: epsilon, centered: centered)
        }
      }
    }
  }
}
