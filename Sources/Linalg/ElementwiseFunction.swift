import RealModule

/// A scalar function applied to every element of a matrix: the activations and gates of
/// MoE networks.
///
/// Each is computed so that it neither overflows nor loses precision at large `|x|`;
/// NaN in gives NaN out.
public enum ElementwiseFunction: String, Sendable, CaseIterable {
  /// `max(0, x)`.
  case relu
  /// `x·Φ(x) = ½·x·(1 + erf(x/√2))`, the exact GELU (Hendrycks & Gimpel 2016,
  /// arXiv 1606.08415; PyTorch `gelu(approximate='none')`).
  case gelu
  /// `½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, GELU's tanh approximation (GPT-2;
  /// PyTorch `gelu(approximate='tanh')`).
  case geluTanh
  /// `x·σ(x)`, also called swish (Ramachandran et al. 2017; the SwiGLU gate of
  /// Llama, Mixtral, Qwen and DeepSeek).
  case silu
  /// `σ(x) = 1/(1 + e⁻ˣ)` (DeepSeek-V3's expert scores, Qwen2-MoE's shared-expert gate).
  case sigmoid
  /// `log(1 + eˣ)`, a smooth ReLU (the noise scale of noisy top-k gating).
  case softplus

  /// The function at `x`.
  @inlinable
  public func callAsFunction<Scalar: BLASScalar>(_ x: Scalar) -> Scalar {
    switch self {
    case .relu:
      return x > 0 ? x : (x.isNaN ? x : 0)
    case .gelu:
      // ½·(1 + erf(x/√2)) = ½·erfc(−x/√2), which keeps its precision for negative x.
      return x * Scalar.erfc(-x / Scalar.sqrt(2)) / 2
    case .geluTanh:
      // ½·(1 + tanh(z)) = σ(2z), which keeps its precision for negative z.
      let inner = Scalar.sqrt(2 / Scalar.pi) * (x + Scalar(0.044715) * x * x * x)
      return x * ElementwiseFunction.sigmoid(2 * inner)
    case .silu:
      return x * ElementwiseFunction.sigmoid(x)
    case .sigmoid:
      // Never exponentiate a positive number, so neither branch overflows.
      if x >= 0 { return 1 / (1 + Scalar.exp(-x)) }
      let e = Scalar.exp(x)
      return e / (1 + e)
    case .softplus:
      // max(x, 0) + log(1 + e^−|x|), exact for large |x|.
      return Swift.max(x, 0) + Scalar.log(onePlus: Scalar.exp(-abs(x)))
    }
  }
}

extension ElementwiseFunction {
  /// The derivative `f′(x)`, for backward passes:
  /// relu `[x > 0]` (0 at 0); gelu `Φ(x) + x·φ(x)`; geluTanh
  /// `s + x·s·(1 − s)·2c·(1 + 3·0.044715·x²)` with `s = σ(2u)`, `c = √(2/π)`; silu
  /// `σ(x)·(1 + x·(1 − σ(x)))`; sigmoid `σ(x)·(1 − σ(x))`; softplus `σ(x)`.
  @inlinable
  public func derivative<Scalar: BLASScalar>(_ x: Scalar) -> Scalar {
    switch self {
    case .relu:
      return x > 0 ? 1 : (x.isNaN ? x : 0)
    case .gelu:
      let density = Scalar.exp(-x * x / 2) / Scalar.sqrt(2 * Scalar.pi)
      return Scalar.erfc(-x / Scalar.sqrt(2)) / 2 + x * density
    case .geluTanh:
      let c = Scalar.sqrt(2 / Scalar.pi)
      let a = Scalar(0.044715)
      let s = ElementwiseFunction.sigmoid(2 * c * (x + a * x * x * x))
      return s + x * s * (1 - s) * 2 * c * (1 + 3 * a * x * x)
    case .silu:
      let s = ElementwiseFunction.sigmoid(x)
      return s * (1 + x * (1 - s))
    case .sigmoid:
      let s = ElementwiseFunction.sigmoid(x)
      return s * (1 - s)
    case .softplus:
      return ElementwiseFunction.sigmoid(x)
    }
  }
}

extension Matrix {
  /// Replaces every element `x` by `function′(x)` (see `ElementwiseFunction.derivative`).
  public mutating func applyDerivative(of function: ElementwiseFunction) {
    withUnsafeMutableBufferPointer { Scalar._applyKernel($0, function, derivative: true) }
  }

  /// Replaces every element `x` by `function(x)`.
  ///
  /// For `Float`, `.silu` and `.sigmoid` run an 8-lane AVX2 kernel (within a few ulp of
  /// the scalar function) when the processor has AVX2 and FMA.
  public mutating func apply(_ function: ElementwiseFunction) {
    withUnsafeMutableBufferPointer { Scalar._applyKernel($0, function, derivative: false) }
  }

  /// `self ← function(self) ⊙ other`, in one pass: the hidden layer `act(x·W_gᵀ) ⊙ x·W_uᵀ`
  /// of a gated feed-forward network (SwiGLU when `function` is `.silu`).
  ///
  /// For `Float`, `.silu` runs an 8-lane AVX2 kernel (within a few ulp of the scalar
  /// function) when the processor has AVX2 and FMA.
  ///
  /// - Precondition: both matrices have the same shape.
  public mutating func applyGated(_ function: ElementwiseFunction, multiplying other: Matrix) {
    precondition(
      rows == other.rows && columns == other.columns,
      "applyGated: \(rows)×\(columns) and \(other.rows)×\(other.columns) differ in shape")
    other.withUnsafeBufferPointer { u in
      withUnsafeMutableBufferPointer { g in Scalar._applyGatedKernel(g, u, function) }
    }
  }

  /// A matrix of `function(x)` for every element `x`.
  public func applying(_ function: ElementwiseFunction) -> Matrix {
    var result = self
    result.apply(function)
    return result
  }
}
