import Linalg
import RealModule

/// Root-mean-square normalisation of every token:
/// `y = x / √(mean(x²) + ε) ⊙ γ`.
///
/// - `x`, `y`: `tokens × dimensions`; `γ` (`weight`): `1 × dimensions`, initialised to 1.
///
/// ### References
/// Zhang & Sennrich 2019, "Root Mean Square Layer Normalization", arXiv 1910.07467; the
/// norm of Llama, Mixtral, Qwen and DeepSeek (`LlamaRMSNorm`).
public struct RMSNorm<Scalar: BLASScalar>: Sendable, ParameterContainer {
  /// `γ`, `1 × dimensions`.
  public var weight: Parameter<Scalar>
  /// `ε`, added to the mean square.
  public var epsilon: Scalar

  /// A norm over `dimensions` features with `γ = 1`.
  public init(dimensions: Int, epsilon: Scalar = 1e-6) {
    self.weight = Parameter(Matrix(rows: 1, columns: dimensions, repeating: 1))
    self.epsilon = epsilon
  }

  /// Number of scalars in `γ`.
  public var parameterCount: Int { weight.count }

  /// The normalised tokens.
  public func callAsFunction(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
    var y = x
    y.rmsNormalizeRows(gain: weight.value, epsilon: epsilon)
    return y
  }

  /// The backward pass: with `r = 1/√(mean(x²) + ε)` per token and `g = dy ⊙ γ`,
  /// accumulates `∂γ += Σ_t dy_t ⊙ x_t·r_t` and returns
  /// `∂x = r·g − (r³/n)·(g·x)·x`.
  ///
  /// - Parameters:
  ///   - dy: `∂loss/∂y`, `tokens × dimensions`.
  ///   - x: the forward pass's input.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func backward(_ dy: Matrix<Scalar>, input x: Matrix<Scalar>) -> Matrix<Scalar> {
    let n = Scalar(x.columns)
    let r = x.elementwiseProduct(x).rowSums().map { 1 / Scalar.sqrt($0 / n + epsilon) }
    weight.accumulateGradient { gradient in
      var normalized = x
      normalized.scaleRows(by: r)
      gradient.add(Matrix(row: dy.elementwiseProduct(normalized).columnSums()))
    }
    let g = dy.elementwiseProduct(weight.value)
    let dots = g.elementwiseProduct(x).rowSums()
    var dx = g
    dx.scaleRows(by: r)
    var correction = x
    correction.scaleRows(by: zip(r, dots).map { -$0 * $0 * $0 * $1 / n })
    dx.add(correction)
    return dx
  }

  /// Visits `weight`.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    body(Self._join(prefix, "weight"), &weight)
  }
}
