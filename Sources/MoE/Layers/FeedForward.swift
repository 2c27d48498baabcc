import Linalg

/// A position-wise feed-forward network, plain or gated, with Hugging Face's projection
/// names:
/// - plain: `y = down(act(up(x)))` (the original Transformer, GPT-2, Switch experts);
/// - gated: `y = down(act(gate(x)) ⊙ up(x))` — SwiGLU with `act = silu` (Llama, Mixtral,
///   Qwen, DeepSeek), GeGLU with `act = gelu` (Shazeer 2020, "GLU Variants Improve
///   Transformer", arXiv 2002.05202) — or, with `clamp`, gpt-oss's `ClampedSwiGLU` of the
///   two projections.
///
/// - `x`, `y`: `tokens × dimensions`; `up`, `gate`: `dimensions → hiddenDimensions`;
///   `down`: `hiddenDimensions → dimensions`.
public struct FeedForward<Scalar: BLASScalar>: Sendable, ParameterContainer {
  /// The gate projection (`gate_proj` / `w1`), present in the gated form only.
  public var gate: Linear<Scalar>?
  /// The up projection (`up_proj` / `w3`; `fc1` in the plain form).
  public var up: Linear<Scalar>
  /// The down projection (`down_proj` / `w2`).
  public var down: Linear<Scalar>
  /// The activation (applied to the gate in the gated form, to `up` in the plain one).
  public var activation: ElementwiseFunction
  /// gpt-oss's clamped unit in place of `act(gate) ⊙ up` (gated form only), or `nil`.
  public var clamp: ClampedSwiGLU? {
    didSet { precondition(clamp == nil || gate != nil, "FeedForward: a clamped SwiGLU needs the gated form") }
  }

  /// A network from its projections; pass `gate` for the gated form.
  public init(
    gate: Linear<Scalar>? = nil, up: Linear<Scalar>, down: Linear<Scalar>,
    activation: ElementwiseFunction = .silu
  ) {
    precondition(
      down.inputDimensions == up.outputDimensions && down.outputDimensions == up.inputDimensions,
      "FeedForward: up \(up.inputDimensions)→\(up.outputDimensions) and down \(down.inputDimensions)→\(down.outputDimensions) do not compose"
    )
    if let gate {
      precondition(
        gate.inputDimensions == up.inputDimensions && gate.outputDimensions == up.outputDimensions,
        "FeedForward: gate \(gate.inputDimensions)→\(gate.outputDimensions) differs from up \(up.inputDimensions)→\(up.outputDimensions)"
      )
    }
    self.gate = gate
    self.up = up
    self.down = down
    self.activation = activation
  }

  /// A randomly initialised network (`nn.Linear` initialisation, no biases by default as in
  /// Llama-style models).
  public init(
    dimensions: Int, hiddenDimensions: Int, gated: Bool = true, activation: ElementwiseFunction = .silu,
    bias: Bool = false, using generator: inout some RandomNumberGenerator
  ) {
    let gate =
      gated
      ? Linear<Scalar>(
        inputDimensions: dimensions, outputDimensions: hiddenDimensions, bias: bias, using: &generator)
      : nil
    let up = Linear<Scalar>(
      inputDimensions: dimensions, outputDimensions: hiddenDimensions, bias: bias, using: &generator)
    let down = Linear<Scalar>(
      inputDimensions: hiddenDimensions, outputDimensions: dimensions, bias: bias, using: &generator)
    self.init(gate: gate, up: up, down: down, activation: activation)
  }

  /// Whether this is the gated form.
  public var isGated: Bool { gate != nil }
  /// Input and output features.
  public var dimensions: Int { up.inputDimensions }
  /// Hidden features.
  public var hiddenDimensions: Int { up.outputDimensions }
  /// The weight bytes a pass reads: the projections' (see `Linear.weightBytes`).
  public var weightBytes: Int { (gate?.weightBytes ?? 0) + up.weightBytes + down.weightBytes }

  /// Number of scalars in all projections.
  public var parameterCount: Int { (gate?.parameterCount ?? 0) + up.parameterCount + down.parameterCount }

  /// The network applied to `x` (`tokens × dimensions`).
  public func callAsFunction(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
    var upOutput = up(x)
    guard let gate else {
      upOutput.apply(activation)
      return down(upOutput)
    }
    var hidden = gate(x)
    applyGate(&hidden, multiplying: upOutput)
    return down(hidden)
  }

  /// `act(gate) ⊙ up`, or the clamped unit, written over `gate` (gated form).
  public func applyGate(_ gate: inout Matrix<Scalar>, multiplying up: Matrix<Scalar>) {
    if let clamp {
      clamp.apply(&gate, multiplying: up)
    } else {
      gate.applyGated(activation, multiplying: up)
    }
  }

  /// `∂L/∂gate` and `∂L/∂up` of the gated form from `∂L/∂(act(gate) ⊙ up)`:
  /// `∂up = ∂H ⊙ act(G)`, `∂G = ∂H ⊙ up ⊙ act′(G)` (or the clamped unit's).
  public func gateBackward(_ dHidden: Matrix<Scalar>, gate: Matrix<Scalar>, up: Matrix<Scalar>) -> (
    dGate: Matrix<Scalar>, dUp: Matrix<Scalar>
  ) {
    if let clamp { return clamp.backward(dHidden, gate: gate, up: up) }
    var dGate = gate
    dGate.applyDerivative(of: activation)
    dGate.multiplyElementwise(by: dHidden.elementwiseProduct(up))
    return (dGate, dHidden.elementwiseProduct(gate.applying(activation)))
  }

  /// What the backward pass needs from the forward pass.
  public struct Cache: Sendable {
    /// The input `x`.
    public var input: Matrix<Scalar>
    /// `gate(x)` before the activation (gated form only).
    public var gateOutput: Matrix<Scalar>?
    /// `up(x)` (before the activation in the plain form).
    public var upOutput: Matrix<Scalar>
    /// The input of `down`.
    public var hidden: Matrix<Scalar>
  }

  /// The forward pass, keeping what `backward` needs.
  public func forwardForTraining(_ x: Matrix<Scalar>) -> (output: Matrix<Scalar>, cache: Cache) {
    let upOutput = up(x)
    let gateOutput = gate?(x)
    var hidden: Matrix<Scalar>
    if let gateOutput {
      hidden = gateOutput
      applyGate(&hidden, multiplying: upOutput)
    } else {
      hidden = upOutput
      hidden.apply(activation)
    }
    let cache = Cache(input: x, gateOutput: gateOutput, upOutput: upOutput, hidden: hidden)
    return (down(hidden), cache)
  }

  /// The backward pass: accumulates every trainable projection's gradients and returns
  /// `∂x`. Gated: `∂H = dy·W_down`, then `gateBackward`; plain: `∂P = ∂H ⊙ act′(P)`.
  ///
  /// - Parameters:
  ///   - dy: `∂loss/∂y`, `tokens × dimensions`.
  ///   - cache: from `forwardForTraining` of the same input.
  /// - Returns: `∂loss/∂x`, `tokens × dimensions`.
  public mutating func backward(_ dy: Matrix<Scalar>, cache: Cache) -> Matrix<Scalar> {
    let dHidden = down.backward(dy, input: cache.hidden)
    if let gateOutput = cache.gateOutput {
      let (dGate, dUp) = gateBackward(dHidden, gate: gateOutput, up: cache.upOutput)
      return gate!.backward(dGate, input: cache.input) + up.backward(dUp, input: cache.input)
    }
    var dUp = cache.upOutput
    dUp.applyDerivative(of: activation)
    dUp.multiplyElementwise(by: dHidden)
    return up.backward(dUp, input: cache.input)
  }

  /// Visits `gate`, `up` and `down` (Hugging Face's `gate_proj`/`up_proj`/`down_proj`).
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    if gate != nil { gate!.visitParameters(prefix: Self._join(prefix, "gate"), body) }
    up.visitParameters(prefix: Self._join(prefix, "up"), body)
    down.visitParameters(prefix: Self._join(prefix, "down"), body)
  }
}

extension FeedForward where Scalar == Float {
  /// This network with its three weights held in `format` (`nil`: `Float`; see
  /// `Linear.converted(to:integerDotProducts:)`).
  public func converted(to format: WeightMatrix.Format?, integerDotProducts: Bool = true) -> FeedForward {
    var network = self
    network.gate = gate?.converted(to: format, integerDotProducts: integerDotProducts)
    network.up = up.converted(to: format, integerDotProducts: integerDotProducts)
    network.down = down.converted(to: format, integerDotProducts: integerDotProducts)
    return network
  }
}
