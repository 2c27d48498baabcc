import Linalg
import MoE

/// Qwen2-MoE (`qwen2_moe`): `model.layers.{i}.mlp.gate.weight` and
/// `….mlp.experts.{j}.gate_proj/up_proj/down_proj.weight`; softmax → top-k → renormalised only
/// when `norm_topk_prob` (default false); `mlp.shared_expert.*` scaled by
/// `sigmoid(mlp.shared_expert_gate(x))`; `decoder_sparse_step` and `mlp_only_layers` pick the
/// MoE layers, the others dense `mlp.*_proj`; q/k/v biases (`qkv_bias`); with
/// `use_sliding_window`, `layer_types` says which layers attend within `sliding_window`.
public struct Qwen2MoEFamily: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "qwen2_moe" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String {
    "gated shared expert, dense layers by decoder_sparse_step/mlp_only_layers, q/k/v biases, layer_types windows"
  }

  /// `shared_expert`.
  public var sharedExpertName: String { "shared_expert" }

  /// `sliding_window` on the "sliding_attention" layers of `layer_types`, when
  /// `use_sliding_window`.
  public func window(_ checkpoint: HuggingFaceCheckpoint, layer i: Int) throws -> Int? {
    guard try checkpoint.checked({ try checkpoint.config.bool("use_sliding_window", fallback: false) }) else {
      return nil
    }
    return try checkpoint.layerTypeWindow(layer: i, fallback: nil)
  }
}
