import Linalg
import MoE

/// Phi-3.5-MoE (`phimoe`): Mixtral's names (`block_sparse_moe.gate.weight`,
/// `experts.{j}.w1/w3/w2`) with LayerNorms (gain and bias, `rms_norm_eps`) before each sublayer
/// and the head, `attention_bias` on all four projections, a head bias with `lm_head_bias`, an
/// optional sliding window on every layer, and SparseMixer routing (`SparseMixerRouter`,
/// `router_jitter_noise` its ε). Its published checkpoints scale RoPE by "longrope", which is
/// refused by name until MoEKit reads it.
///
/// ### References
/// Microsoft 2024, "Phi-3 Technical Report", arXiv 2404.14219.
public struct PhiMoEFamily: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "phimoe" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String { "LayerNorms with biases, SparseMixer routing, biased attention and head" }

  /// `model.layers.{i}.block_sparse_moe`.
  public func feedForwardPrefix(layer i: Int) -> String { "model.layers.\(i).block_sparse_moe" }
  /// `w1`, `w3`, `w2`.
  public var expertProjectionNames: (gate: String, up: String, down: String) { ("w1", "w3", "w2") }

  /// SparseMixer with `router_jitter_noise` (default 0.01) as its ε.
  public func router<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, gate: Linear<Scalar>
  ) throws -> any Router<Scalar> {
    let epsilon = try checkpoint.checked {
      try checkpoint.config.double("router_jitter_noise", fallback: 0.01)
    }
    guard epsilon.isFinite, epsilon >= 0 else {
      throw CheckpointError.config(
        .outOfRange(field: "router_jitter_noise", value: "\(epsilon)", requirement: "finite, at least 0"))
    }
    return SparseMixerRouter(gate: gate, k: checkpoint.architecture.moe!.topK, jitterEpsilon: Scalar(epsilon))
  }

  /// `sliding_window`, on every layer.
  public func window(_ checkpoint: HuggingFaceCheckpoint, layer i: Int) throws -> Int? {
    try MistralFamily().window(checkpoint, layer: i)
  }
}
