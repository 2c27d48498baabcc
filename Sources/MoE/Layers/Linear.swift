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
public struct Linear<Scalar: BLASScalar>: Sendable {
  /// `outputDimensions × inputDimensions`.
  public var weight: Matrix<Scalar>
  /// `1 × outputDimensions`, or `nil` for a layer without bias.
  public var bias: Matrix<Scalar>?

  /// A layer with the given weight (`out × in`) and optional bias (`1 × out`).
  public init(weight: Matrix<Scalar>, bias: Matrix<Scalar>? = nil) {
    if let bias {
      precondition(
        bias.rows == 1 && bias.columns == weight.rows,
        "Linear: bias \(bias.rows)×\(bias.columns) does not match weight \(weight.rows)×\(weight.columns)")
    }
    self.weight = weight
    self.bias = bias
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
  public var inputDimensions: Int { weight.columns }
  /// Number of output features.
  public var outputDimensions: Int { weight.rows }
  /// Number of scalars in the weight and bias.
  public var parameterCount: Int { weight.count + (bias?.count ?? 0) }

  /// `x·Wᵀ + b` written into `output` (`tokens × outputDimensions`), allocating nothing.
  public func forward(_ x: Matrix<Scalar>, into output: inout Matrix<Scalar>) {
    gemm(x, weight, transposeB: true, into: &output)
    if let bias { output.add(bias) }
  }

  /// `x·Wᵀ + b` for `x` of `tokens × inputDimensions`.
  public func callAsFunction(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
    var output = Matrix<Scalar>(rows: x.rows, columns: outputDimensions)
    forward(x, into: &output)
    return output
  }
}
