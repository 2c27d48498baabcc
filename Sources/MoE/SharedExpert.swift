import Linalg

/// An expert that processes every token, beside the routed ones.
///
/// - DeepSeekMoE style (`gate == nil`): its output is added unscaled. DeepSeek's
///   `n_shared_experts` experts of width `h` are one network of width `n·h`, which is
///   how their checkpoints store them.
/// - Qwen2-MoE style (`gate != nil`): its output is scaled per token by
///   `σ(x·w_gᵀ)`, a learned scalar gate (`shared_expert_gate`, `1 × d`, no bias).
///
/// ### References
/// Dai et al. 2024, "DeepSeekMoE", arXiv 2401.06066 (shared expert isolation);
/// Qwen team 2024, Qwen1.5-MoE / Qwen2-MoE model code.
public struct SharedExpert<Scalar: BLASScalar>: Sendable, ParameterContainer {
  /// The network every token passes through.
  public var network: FeedForward<Scalar>
  /// The scalar gate `d → 1`, or `nil` for an ungated (DeepSeek-style) shared expert.
  public var gate: Linear<Scalar>?

  /// A shared expert, gated when `gate` is given.
  public init(network: FeedForward<Scalar>, gate: Linear<Scalar>? = nil) {
    if let gate {
      precondition(
        gate.outputDimensions == 1 && gate.inputDimensions == network.dimensions,
        "SharedExpert: gate \(gate.inputDimensions)→\(gate.outputDimensions) must be \(network.dimensions)→1")
    }
    self.network = network
    self.gate = gate
  }

  /// Number of scalars in the network and gate.
  public var parameterCount: Int { network.parameterCount + (gate?.parameterCount ?? 0) }

  /// `network(x)`, scaled per token by `σ(gate(x))` when gated.
  public func callAsFunction(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
    var y = network(x)
    if let gate {
      y.scaleRows(by: gate(x).applying(.sigmoid).elements)
    }
    return y
  }

  /// What the backward pass needs from the forward pass.
  public struct Cache: Sendable {
    /// The network's cache.
    public var network: FeedForward<Scalar>.Cache
    /// The network's output before gating.
    public var output: Matrix<Scalar>
    /// `σ(gate(x))` per token, or `nil` when ungated.
    public var gateValues: [Scalar]?
  }

  /// The forward pass, keeping what `backward` needs.
  public func forwardForTraining(_ x: Matrix<Scalar>) -> (output: Matrix<Scalar>, cache: Cache) {
    let (output, networkCache) = network.forwardForTraining(x)
    guard let gate else { return (output, Cache(network: networkCache, output: output, gateValues: nil)) }
    let values = gate(x).applying(.sigmoid).elements
    var gated = output
    gated.scaleRows(by: values)
    return (gated, Cache(network: networkCache, output: output, gateValues: values))
  }

  /// The backward pass: with `g_t = σ(gate(x_t))`, the network sees `dy ⊙ g` and the gate
  /// `(Σⱼ dy_tj · network(x)_tj) · g_t (1 − g_t)`; returns `∂x`.
  public mutating func backward(_ dy: Matrix<Scalar>, cache: Cache, input x: Matrix<Scalar>) -> Matrix<Scalar>
  {
    guard let values = cache.gateValues else { return network.backward(dy, cache: cache.network) }
    var dNetwork = dy
    dNetwork.scaleRows(by: values)
    let dValues = dy.elementwiseProduct(cache.output).rowSums()
    let dGate = Matrix(rows: x.rows, columns: 1, elements: zip(dValues, values).map { $0 * $1 * (1 - $1) })
    return network.backward(dNetwork, cache: cache.network) + gate!.backward(dGate, input: x)
  }

  /// Visits the network's projections under `prefix` (`shared_expert.up.weight`) and the
  /// gate beside them (`shared_expert_gate.weight`), as Qwen2-MoE names them.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    network.visitParameters(prefix: prefix, body)
    if gate != nil { gate!.visitParameters(prefix: prefix + "_gate", body) }
  }
}
