import Linalg
import RealModule

/// Layer normalisation of every token:
/// `y = (x − mean(x)) / √(var(x) + ε) ⊙ γ + β`, with the biased (population) variance.
///
/// - `x`, `y`: `tokens × dimensions`; `γ` (`weight`, initialised to 1) and `β` (`bias`,
///   initialised to 0): `1 × dimensions`.
///
/// ### References
/// Ba, Kiros & Hinton 2016, "Layer Normalization", arXiv 1607.06450; PyTorch
/// `nn.LayerNorm`.
public struct LayerNorm<Scalar: BLASScalar>: Sendable {
  /// `γ`, `1 × dimensions`.
  public var weight: Matrix<Scalar>
  /// `β`, `1 × dimensions`.
  public var bias: Matrix<Scalar>
  /// `ε`, added to the variance.
  public var epsilon: Scalar

  /// A norm over `dimensions` features with `γ = 1`, `β = 0`.
  public init(dimensions: Int, epsilon: Scalar = 1e-5) {
    self.weight = Matrix(rows: 1, columns: dimensions, repeating: 1)
    self.bias = Matrix(rows: 1, columns: dimensions)
    self.epsilon = epsilon
  }

  /// Number of scalars in `γ` and `β`.
  public var parameterCount: Int { weight.count + bias.count }

  /// The normalised tokens.
  public func callAsFunction(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
    precondition(
      x.columns == weight.columns, "LayerNorm: input \(x.rows)×\(x.columns), norm over \(weight.columns)")
    var y = x
    y.layerNormalizeRows(gain: weight, bias: bias, epsilon: epsilon)
    return y
  }
}
