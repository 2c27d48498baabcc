import Linalg
import RealModule

/// A fully connected layer `y = x·Wᵀ + b`.
///
/// `W` is stored `out × in` as in PyTorch and Hugging Face checkpoints, so weights load
/// without transposes and the product is one GEMM with a transpose flag.
///
/// A `Float` layer can instead hold `W` in a compact format (`compactWeight`, a
/// `WeightMatrix`: bf16, q8 or q4): inference multiplies with the compact bytes, the base is
/// frozen (`weight` is then an empty `0 × in` placeholder and gets no gradient), and
/// `backward` still returns `∂x` (`WeightMatrix.transposeMultiplied`, a tile of the base at
/// a time) and trains the bias and a low-rank adapter — QLoRA-style fine-tuning that never
/// expands the base.
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
  /// `W` in a compact format, or `nil` when `weight` holds it.
  public private(set) var compactWeight: WeightMatrix?

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
  public var outputDimensions: Int { compactWeight?.rows ?? weight.value.rows }
  /// The bytes a product with this layer reads: its weight as held (compact or `Scalar`) and
  /// its bias.
  public var weightBytes: Int {
    (compactWeight?.byteCount ?? weight.count * MemoryLayout<Scalar>.size)
      + (bias?.count ?? 0) * MemoryLayout<Scalar>.size
  }

  /// Number of scalars in the weight, bias and adapter.
  public var parameterCount: Int {
    weight.count + (compactWeight.map { $0.rows * $0.columns } ?? 0) + (bias?.count ?? 0)
      + (adapter.map { $0.down.count + $0.up.count } ?? 0)
  }

  /// `W` as a matrix of `Scalar` (expanding a compact weight: for paths such as backward
  /// passes that need it whole).
  public var expandedWeight: Matrix<Scalar> {
    guard let compactWeight else { return weight.value }
    return unsafeBitCast(compactWeight.dequantized(), to: Matrix<Scalar>.self)  // Scalar is Float
  }

  /// `x·Wᵀ + b` written into `output` (`tokens × outputDimensions`), allocating nothing.
  public func forward(_ x: Matrix<Scalar>, into output: inout Matrix<Scalar>) {
    if let compactWeight {
      ForwardObservation.current?.observe(
        unsafeBitCast(x, to: Matrix<Float>.self), meeting: compactWeight)
      compactWeight.multiply(x, into: &output)
    } else {
      gemm(x, weight.value, transposeB: true, into: &output)
    }
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
    if compactWeight == nil {
      weight.accumulateGradient { gemm(dy, transposeA: true, x, beta: 1, into: &$0) }
    }
    bias?.accumulateGradient { $0.add(Matrix(row: dy.columnSums())) }
    var dx: Matrix<Scalar>? =
      if let compactWeight {
        unsafeBitCast(
          compactWeight.transposeMultiplied(unsafeBitCast(dy, to: Matrix<Float>.self)),
          to: Matrix<Scalar>.self)
      } else {
        matmul(dy, weight.value)
      }
    adapter?.backward(dy, input: x, dx: &dx)
    return dx!
  }

  /// Visits `weight` (not a compact one: it is frozen and has no `Parameter`), `bias` and
  /// the adapter's `lora_A.weight`, `lora_B.weight`.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    if compactWeight == nil { body(Self._join(prefix, "weight"), &weight) }
    if bias != nil { body(Self._join(prefix, "bias"), &bias!) }
    if adapter != nil { adapter!.visitParameters(prefix: prefix, body) }
  }
}

extension Linear where Scalar == Float {
  /// A layer whose weight is held compact (`out × in` = `compactWeight.rows × columns`),
  /// with an optional `Float` bias (`1 × out`).
  public init(compactWeight: WeightMatrix, bias: Matrix<Float>? = nil) {
    self.init(weight: Matrix(rows: 0, columns: compactWeight.columns), bias: nil)
    weight.isTrainable = false
    self.compactWeight = compactWeight
    if let bias {
      precondition(
        bias.rows == 1 && bias.columns == compactWeight.rows,
        "Linear: bias \(bias.rows)×\(bias.columns) does not match weight \(compactWeight.rows)×\(compactWeight.columns)"
      )
      self.bias = Parameter(bias)
    }
  }

  /// This layer with its weight converted to `format` (or back to `Float` for `nil`),
  /// with `WeightMatrix.integerDotProducts` as given; a ggml block format whose blocks do
  /// not divide the rows falls back to q8 (`WeightMatrix.Format.fitting(columns:)`).
  public func converted(to format: WeightMatrix.Format?, integerDotProducts: Bool = true) -> Linear {
    var layer = self
    let dense = expandedWeight
    if let format {
      layer.compactWeight = WeightMatrix(dense, format: format.fitting(columns: dense.columns))
      layer.compactWeight!.integerDotProducts = integerDotProducts
      layer.weight = Parameter(Matrix(rows: 0, columns: dense.columns))
      layer.weight.isTrainable = false
    } else {
      layer.compactWeight = nil
      layer.weight = Parameter(dense)
    }
    return layer
  }
}
