import Linalg
import MoE

/// DeepSeek-MoE 16B (`deepseek`, published as remote code, `DeepseekForCausalLM`): Llama's
/// multi-head attention; 64 fine-grained experts under a softmax top-k gate
/// (`mlp.gate.weight`), renormalised only when `norm_topk_prob` (default false) and `k > 1`;
/// `n_shared_experts` shared experts stored as one network `mlp.shared_experts.*` of
/// `n_shared_experts · moe_intermediate_size`, added unscaled (`ModelFamily`'s default shared
/// expert); layers before
/// `first_k_dense_replace` (and off `moe_layer_freq`) dense.
///
/// ### References
/// Dai et al. 2024, "DeepSeekMoE: Towards Ultimate Expert Specialization in Mixture-of-Experts
/// Language Models", arXiv 2401.06066; its published `modeling_deepseek.py`.
public struct DeepSeekMoEFamily: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "deepseek" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String {
    "MHA, fine-grained softmax top-k experts, ungated shared experts, first layers dense"
  }
}
