import Linalg
import MoE

/// Qwen3-Next (`qwen3_next`), the hybrid: "linear_attention" layers of `GatedDeltaNet`
/// (`linear_attn.*`, a fixed-size state instead of a KV cache) beside "full_attention" layers
/// of grouped-query attention with an output gate (`q_proj` yields each head's query and gate),
/// per-head q/k norms and RoPE on `partial_rotary_factor` of each head; every RMSNorm outside
/// the DeltaNet stores `w` for a gain `1 + w`; Qwen2-MoE's MoE blocks (softmax top-k,
/// `norm_topk_prob`, a gated shared expert, dense layers by `decoder_sparse_step` and
/// `mlp_only_layers`).
///
/// ### References
/// Qwen team 2025, "Qwen3-Next"; Yang et al. 2024, "Gated Delta Networks", arXiv 2412.06464.
public struct Qwen3NextFamily: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "qwen3_next" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String {
    "Gated DeltaNet layers with a recurrent state beside output-gated attention, (1 + w) norms, gated shared expert"
  }
  /// Gains stored as `w` for `1 + w`.
  public var normGainOffset: Float { 1 }

  /// `shared_expert`.
  public var sharedExpertName: String { "shared_expert" }
}
