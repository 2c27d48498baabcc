import Linalg
import MoE

/// GLM-4.5 (`glm4_moe`): DeepSeek-V3's MoE layout and router (`routed_scaling_factor` default
/// 1) under grouped-query attention with q/k/v biases when `attention_bias`, per-head q/k
/// norms when `use_qk_norm`, and RoPE on `partial_rotary_factor` of each head.
public struct GLM45Family: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "glm4_moe" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String {
    "DeepSeek-V3 routing under GQA, q/k/v biases, optional q/k norms, partial RoPE"
  }

  /// The router of the MoE block at `prefix`.
  public func router<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, gate: Linear<Scalar>
  ) throws -> any Router<Scalar> {
    try DeepSeekV2Family.groupLimitedRouter(
      checkpoint, prefix: prefix, gate: gate, sigmoid: true, defaultScaling: 1)
  }

}
