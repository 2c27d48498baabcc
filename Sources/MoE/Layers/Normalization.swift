import Linalg

/// The norm in front of a sublayer or the head: RMSNorm (Llama, Mixtral, Qwen, DeepSeek and
/// most MoE families) or LayerNorm with gain and bias (Phi-3.5-MoE).
///
/// Shapes: `x` and the output are `tokens × d`.
public enum Normalization<Scalar: BLASScalar>: Sendable, ParameterContainer {
  /// `x / rms(x) · g`.
  case rms(RMSNorm<Scalar>)
  /// `(x − mean) / std · g + b`.
  case layer(LayerNorm<Scalar>)

  /// An RMSNorm of `dimensions` with unit gain.
  public init(rmsDimensions dimensions: Int, epsilon: Scalar = 1e-6) {
    self = .rms(RMSNorm(dimensions: dimensions, epsilon: epsilon))
  }

  /// `ε`.
  public var epsilon: Scalar {
    switch self {
    case .rms(let norm): norm.epsilon
    case .layer(let norm): norm.epsilon
    }
  }

  /// Number of scalars in the gain (and bias).
  public var parameterCount: Int {
    switch self {
    case .rms(let norm): norm.parameterCount
    case .layer(let norm): norm.parameterCount
    }
  }

  /// The norm applied to every row of `x`.
  public func callAsFunction(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
    switch self {
    case .rms(let norm): norm(x)
    case .layer(let norm): norm(x)
    }
  }

  /// The backward pass: accumulates the gain's (and bias's) gradients and returns `∂x`.
  public mutating func backward(_ dy: Matrix<Scalar>, input x: Matrix<Scalar>) -> Matrix<Scalar> {
    switch self {
    case .rms(var norm):
      defer { self = .rms(norm) }
      return norm.backward(dy, input: x)
    case .layer(var norm):
      defer { self = .layer(norm) }
      return norm.backward(dy, input: x)
    }
  }

  /// Visits `weight` (and `bias`).
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    switch self {
    case .rms(var norm):
      norm.visitParameters(prefix: prefix, body)
      self = .rms(norm)
    case .layer(var norm):
      norm.visitParameters(prefix: prefix, body)
      self = .layer(norm)
    }
  }
}
