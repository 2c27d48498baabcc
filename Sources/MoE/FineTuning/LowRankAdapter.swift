import Linalg

/// A low-rank adapter on a `Linear` layer (LoRA; Hu et al. 2021, arXiv 2106.09685):
/// `y = x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ` with `A` (`r × in`), `B` (`out × r`) and `s = α/r`, so a
/// frozen `W` is fine-tuned through `r·(in + out)` parameters. `B` starts at zero, so an
/// adapter added to a trained layer changes nothing until it trains. PEFT's names:
/// `lora_A.weight`, `lora_B.weight`.
public struct LowRankAdapter<Scalar: BLASScalar>: Sendable, ParameterContainer {
  /// `A`, `r × in`.
  public var down: Parameter<Scalar>
  /// `B`, `out × r`.
  public var up: Parameter<Scalar>
  /// `s = α / r`.
  public var scale: Scalar

  /// An adapter of rank `rank` for a layer `inputs → outputs`: `A` drawn as `nn.Linear`
  /// draws weights, `B = 0`, `s = alpha / rank`.
  public init(
    inputs: Int, outputs: Int, rank: Int, alpha: Double? = nil,
    using generator: inout some RandomNumberGenerator
  ) {
    precondition(rank >= 1, "LowRankAdapter: rank \(rank) must be at least 1")
    down =
      Linear<Scalar>(inputDimensions: inputs, outputDimensions: rank, bias: false, using: &generator).weight
    up = Parameter(Matrix(rows: outputs, columns: rank))
    scale = Scalar((alpha ?? Double(rank)) / Double(rank))
  }

  /// `r`.
  public var rank: Int { down.value.rows }

  /// Adds `s·(x·Aᵀ)·Bᵀ` to `y` (`x` is `T × in`, `y` is `T × out`).
  public func add(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) {
    let u = matmul(x, down.value, transposeB: true)
    gemm(u, up.value, transposeB: true, alpha: scale, beta: 1, into: &y)
  }

  /// The backward pass of `add`: accumulates `∂B += s·dyᵀ·(x·Aᵀ)` and
  /// `∂A += (s·dy·B)ᵀ·x`, and adds `(s·dy·B)·A` to `dx` when given.
  public mutating func backward(_ dy: Matrix<Scalar>, input x: Matrix<Scalar>, dx: inout Matrix<Scalar>?) {
    let u = matmul(x, down.value, transposeB: true)
    up.accumulateGradient { gemm(dy, transposeA: true, u, alpha: scale, beta: 1, into: &$0) }
    var du = matmul(dy, up.value)
    du *= scale
    down.accumulateGradient { gemm(du, transposeA: true, x, beta: 1, into: &$0) }
    if dx != nil { gemm(du, down.value, beta: 1, into: &dx!) }
  }

  /// Visits `lora_A.weight` and `lora_B.weight`.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    body(Self._join(prefix, "lora_A.weight"), &down)
    body(Self._join(prefix, "lora_B.weight"), &up)
  }
}
