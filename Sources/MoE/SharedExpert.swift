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
public struct SharedExpert<Scalar: BLASScalar>: Sendable {
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
}
