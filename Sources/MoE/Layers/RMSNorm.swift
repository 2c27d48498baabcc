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
public struct RMSNorm<Scalar: BLASScalar>: Sendable {
  /// `γ`, `1 × dimensions`.
  public var weight: Matrix<Scalar>
  /// `ε`, added to the mean square.
  public var epsilon: Scalar

  /// A norm over `dimensions` features with `γ = 1`.
  public init(dimensions: Int, epsilon: Scalar = 1e-6) {
    self.weight = Matrix(rows: 1, columns: dimensions, repeating: 1)
    self.epsilon = epsilon
  }

  /// Number of scalars in `γ`.
  public var parameterCount: Int { weight.count }

  /// The normalised tokens.
  public func callAsFunction(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
    precondition(
      x.columns == weight.columns, "RMSNorm: input \(x.rows)×\(x.columns), norm over \(weight.columns)")
    var y = x
    y.rmsNormalizeRows(gain: weight, epsilon: epsilon)
    return y
  }
}
