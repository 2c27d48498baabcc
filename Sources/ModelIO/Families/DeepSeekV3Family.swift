import Linalg
import MoE

/// DeepSeek-V3 (`deepseek_v3`, and Kimi-K2's remote-code `kimi_k2`): multi-head latent
/// attention; sigmoid scores with `mlp.gate.e_score_correction_bias` for selection only, groups
/// scored by their two best biased scores (the others' experts masked with −∞), top-k,
/// renormalised when `norm_topk_prob` (default true), times `routed_scaling_factor` (default
/// 2.5); DeepSeek's shared experts; dense layers before `first_k_dense_replace`; the
/// multi-token-prediction layers are not loaded.
public struct DeepSeekV3Family: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "deepseek_v3" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String {
    "MLA, sigmoid group-limited routing with the correction bias, routed scaling, MTP layers skipped"
  }

  /// The router of the MoE block at `prefix`.
  public func router<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, gate: Linear<Scalar>
  ) throws -> any Router<Scalar> {
    try DeepSeekV2Family.groupLimitedRouter(
      checkpoint, prefix: prefix, gate: gate, sigmoid: true, defaultScaling: 2.5)
  }

}
