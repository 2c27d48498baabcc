import Linalg
import MoE

/// DeepSeek-MoE 16B (`deepseek`, published as remote code, `DeepseekForCausalLM`): Llama's
/// multi-head attention; 64 fine-grained experts under a softmax top-k gate
/// (`mlp.gate.weight`), renormalised only when `norm_topk_prob` (default false) and `k > 1`;
/// `n_shared_experts` shared experts stored as one network `mlp.shared_experts.*` of
/// `n_shared_experts · moe_intermediate_size`, added unscaled; layers before
/// `first_k_dense_replace` (and off `moe_layer_freq`) dense.
///
/// ### References
/// Dai et al. 2024, "DeepSeekMoE: Towards Ultimate Expert Specialization in Mixture-of-Experts
/// Language Models", arXiv 2401.06066; its published `modeling_deepseek.py`.
public struct DeepSeekMoEFamily: DeepSeekSharedExperts {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "deepseek" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String {
    "MHA, fine-grained softmax top-k experts, ungated shared experts, first layers dense"
  }
}

/// The families whose shared experts are DeepSeek's: `n_shared_experts` (default 0) networks of
/// `moe_intermediate_size`, stored fused as one at `prefix.shared_experts`, ungated
/// (DeepSeek-MoE, DeepSeek-V2/V3, GLM-4.5, dots.llm1).
public protocol DeepSeekSharedExperts: ModelFamily {}

extension DeepSeekSharedExperts {
  /// The DeepSeek shared experts: `n_shared_experts` networks fused at `prefix.shared_experts`.
  public func sharedExpert<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, as: Scalar.Type
  ) throws -> SharedExpert<Scalar>? {
    let count = try checkpoint.checked {
      try checkpoint.config.int("n_shared_experts", minimum: 0, fallback: 0)
    }
    guard count > 0 else { return nil }
    let hidden = checkpoint.architecture.moe!.expert.hidden * count
    return SharedExpert(
      network: try checkpoint.network("\(prefix).shared_experts", hidden: hidden, Scalar.self))
  }
}
