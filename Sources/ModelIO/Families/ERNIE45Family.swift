import Linalg
import MoE

/// ERNIE 4.5 MoE (`ernie4_5_moe`): RoPE on interleaved pairs of each head's features; `use_bias`
/// on the four attention projections, the dense and shared feed-forwards and the head (tied to
/// the embedding by default); MoE layers `i` with `(i + 1) % moe_layer_interval == 0` between
/// `moe_layer_start_index` and `moe_layer_end_index`; the gate `mlp.gate.weight` scores by
/// softmax, `mlp.moe_statics.e_score_correction_bias` steers the top-`moe_k` choice only, and the
/// chosen experts' unbiased scores are renormalised (`transformers` divides by
/// `max(sum, moe_norm_min)`; MoEKit by `sum + 1e-20`, the same for any sum above 1e-12);
/// `moe_num_shared_experts` shared experts fused into one ungated network.
///
/// ### References
/// Baidu ERNIE Team 2025, "ERNIE 4.5 Technical Report".
public struct ERNIE45Family: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "ernie4_5_moe" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String {
    "interleaved RoPE, biases everywhere (use_bias), softmax routing with a correction bias, a band of MoE layers"
  }
  /// Whether RoPE pairs are stored interleaved in the query and key rows.
  public var interleavedRotary: Bool { true }

  /// `use_bias` (default false).
  public func feedForwardBias(_ checkpoint: HuggingFaceCheckpoint) throws -> Bool {
    try checkpoint.checked { try checkpoint.config.bool("use_bias", fallback: false) }
  }

  /// Softmax scores, the correction bias for selection, renormalised, unscaled.
  public func router<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, gate: Linear<Scalar>
  ) throws -> any Router<Scalar> {
    let shape = checkpoint.architecture.moe!
    let bias = try checkpoint.tensor(
      "\(prefix).moe_statics.e_score_correction_bias", [1, shape.routedExperts], Scalar.self)
    return GroupLimitedRouter(
      gate: gate, k: shape.topK, scoring: .softmax, selectionBias: bias, normalizeTopK: true)
  }
}
