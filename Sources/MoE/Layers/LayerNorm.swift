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
public struct LayerNorm<Scalar: BLASScalar>: Sendable, ParameterContainer {
  /// `γ`, `1 × dimensions`.
  public var weight: Parameter<Scalar>
  /// `β`, `1 × dimensions`.
  public var bias: Parameter<Scalar>
  /// `ε`, added to the variance.
  public var epsilon: Scalar

  /// A norm over `dimensions` features with `γ = 1`, `β = 0`.
  public init(dimensions: Int, epsilon: Scalar = 1e-5) {
    self.weight = Parameter(Matrix(rows: 1, columns: dimensions, repeating: 1))
    self.bias = Parameter(Matrix(rows: 1, columns: dimensions))
    self.epsilon = epsilon
  }

  /// Number of scalars in `γ` and `β`.
  public var parameterCount: Int { weight.count + bias.count }

  /// The normalised tokens.
  public func callAsFunction(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
    var y = x
    y.layerNormalizeRows(gain: weight.value, bias: bias.value, epsilon: epsilon)
    return y
  }

  /// The backward pass: with `x̂ = (x − μ)·r`, `r = 1/√(var + ε)` per token and
  /// `g = dy ⊙ γ`, accumulates `∂γ += Σ_t dy_t ⊙ x̂_t`, `∂β += Σ_t dy_t` and returns
  /// `∂x = r·(g − mean(g) − x̂·mean(g ⊙ x̂))`.
  ///
  /// - Parameters:
  ///   - dy: `∂loss/∂y`, `tokens × dimensions`.
  ///   - x: the forward pass's input.
  public mutating func backward(_ dy: Matrix<Scalar>, input x: Matrix<Scalar>) -> Matrix<Scalar> {
    let n = Scalar(x.columns)
    var centered = x
    let means = x.rowMeans()
    centered.subtract(Matrix(rows: x.rows, columns: x.columns) { i, _ in means[i] })
    let r = centered.elementwiseProduct(centered).rowSums().map { 1 / Scalar.sqrt($0 / n + epsilon) }
    var normalized = centered
    normalized.scaleRows(by: r)
    weight.accumulateGradient { $0.add(Matrix(row: dy.elementwiseProduct(normalized).columnSums())) }
    bias.accumulateGradient { $0.add(Matrix(row: dy.columnSums())) }
    let g = dy.elementwiseProduct(weight.value)
    let meanG = g.rowMeans()
    let meanGX = g.elementwiseProduct(normalized).rowMeans()
    var correction = normalized
    correction.scaleRows(by: meanGX)
    var dx = g - correction
    dx.subtract(Matrix(rows: x.rows, columns: x.columns) { i, _ in meanG[i] })
    dx.scaleRows(by: r)
    return dx
  }

  /// Visits `weight` and `bias`.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    body(Self._join(prefix, "weight"), &weight)
    body(Self._join(prefix, "bias"), &bias)
  }
}
