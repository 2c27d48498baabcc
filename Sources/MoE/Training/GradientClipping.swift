import Linalg

extension ParameterContainer {
  /// The global norm of all trainable gradients, `√(Σ_p ‖∂p‖²)`.
  public var gradientNorm: Double {
    namedParameters.reduce(0) { total, entry in
      guard entry.parameter.isTrainable, let g = entry.parameter.gradient else { return total }
      let n = Double(g.norm)
      return total + n * n
    }.squareRoot()
  }

  /// Scales every trainable gradient by `maxNorm / norm` when the global norm exceeds
  /// `maxNorm` (Pascanu et al. 2013, arXiv 1211.5063; PyTorch `clip_grad_norm_`).
  ///
  /// - Returns: the global norm before clipping.
  @discardableResult
  public mutating func clipGradients(maxNorm: Double) -> Double {
    precondition(maxNorm > 0, "clipGradients: maxNorm \(maxNorm) must be positive")
    let norm = gradientNorm
    guard norm > maxNorm else { return norm }
    let factor = Scalar(maxNorm / norm)
    visitParameters(prefix: "") { _, p in
      if p.isTrainable, p.gradient != nil { p.gradient!.scale(by: factor) }
    }
    return norm
  }
}
