import Linalg
import RealModule

/// A fully connected layer `y = x·Wᵀ + b`.
///
/// `W` is stored `out × in` as in PyTorch and Hugging Face checkpoints, so weights load
/// without transposes and the product is one GEMM with a transpose flag.
///
/// - `x`: `tokens × inputDimensions`; `y`: `tokens × outputDimensions`.
///
/// ### References
/// PyTorch `torch.nn.Linear`; MLX `MLXNN.Linear`.
public struct Linear<Scalar: BLASScalar>: Sendable, ParameterContainer {
  /// `W`, `outputDimensions × inputDimensions`.
  public var weight: Parameter<Scalar>
  /// `b`, `1 × outputDimensions`, or `nil` for a layer without bias.
  public var bias: Parameter<Scalar>?
  /// A low-rank adapter adding `s·(x·Aᵀ)·Bᵀ` to the output, or `nil`.
  public var adapter: LowRankAdapter<Scalar>?

  /// A layer with the given weight (`out × in`) and optional bias (`1 × out`).
  public init(weight: Matrix<Scalar>, bias: Matrix<Scalar>? = nil) {
    if let bias {
      precondition(
        bias.rows == 1 && bias.columns == weight.rows,
        "Linear: bias \(bias.rows)×\(bias.columns) does not match weight \(weight.rows)×\(weight.columns)")
    }
    self.weight = Parameter(weight)
    self.bias = bias.map { Parameter($0) }
  }

  /// A layer initialised as PyTorch's `nn.Linear`: weight and bias uniform in
  /// `±1/√inputDimensions`.
  public init(
    inputDimensions: Int, outputDimensions: Int, bias: Bool = true,
    using generator: inout some RandomNumberGenerator
  ) {
    let limit = 1 / Scalar.sqrt(Scalar(Swift.max(1, inputDimensions)))
    let weight = Matrix<Scalar>.uniform(
      rows: outputDimensions, columns: inputDimensions, low: -limit, high: limit, using: &generator)
    let bias =
      bias
      ? Matrix<Scalar>.uniform(
        rows: 1, columns: outputDimensions, low: -limit, high: limit, using: &generator)
      : nil
    self.init(weight: weight, bias: bias)
  }

  /// A router's gate: `dimensions → expertCount` logits, no bias, initialised as
  /// `nn.Linear`.
  public static func routerGate(
    dimensions: Int, expertCount: Int, using generator: inout some RandomNumberGenerator
  ) -> Linear {
    Linear(inputDimensions: dimensions, outputDimensions: expertCount, bias: false, using: &generator)
  }

  /// Number of input features.
  public var inputDimensions: Int { weight.value.columns }
  /// Number of output features.
  public var outputDimensions: Int { weight.value.rows }
  /// Number of scalars in the weight, bias and adapter.
  public var parameterCount: Int {
    weight.count + (bias?.count ?? 0) + (adapter.map { $0.down.count + $0.up.count } ?? 0)
  }

  /// `x·Wᵀ + b` written into `output` (`tokens × outputDimensions`), allocating nothing.
  public func forward(_ x: Matrix<Scalar>, into output: inout Matrix<Scalar>) {
    gemm(x, weight.value, transposeB: true, into: &output)
    if let bias { output.add(bias.value) }
    adapter?.add(x, into: &output)
  }

  /// `x·Wᵀ + b` for `x` of `tokens × inputDimensions`.
  public func callAsFunction(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
    var output = Matrix<Scalar>(rows: x.rows, columns: outputDimensions)
    forward(x, into: &output)
    return output
  }

  /// The backward pass for `y = x·Wᵀ + b`: accumulates `∂W += dyᵀ·x` and `∂b += Σ_t dy_t`
  /// (for trainable parameters) and returns `∂x = dy·W`.
  ///
  /// - Parameters:
  ///   - dy: `∂loss/∂y`, `tokens × outputDimensions`.
  ///   - x: the forward pass's input, `tokens × inputDimensions`.
  /// - Returns: `tokens × inputDimensions`.
  public mutating func backward(_ dy: Matrix<Scalar>, input x: Matrix<Scalar>) -> Matrix<Scalar> {
    weight.accumulateGradient { gemm(dy, transposeA: true, x, beta: 1, into: &$0) }
    bias?.accumulateGradient { $0.add(Matrix(row: dy.columnSums())) }
    var dx: Matrix<Scalar>? = matmul(dy, weight.value)
    adapter?.backward(dy, input: x, dx: &dx)
    return dx!
  }

  /// Visits `weight`, `bias` and the adapter's `lora_A.weight`, `lora_B.weight`.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    body(Self._join(prefix, "weight"), &weight)
    if bias != nil { body(Self._join(prefix, "bias"), &bias!) }
    if adapter != nil { adapter!.visitParameters(prefix: prefix, body) }
  }
}
