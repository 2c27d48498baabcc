import Linalg
import MoE

/// dots.llm1 (`dots1`): DeepSeek-V3's MoE layout and sigmoid group-limited router
/// (`norm_topk_prob` default false, `routed_scaling_factor` default 1) under grouped-query
/// attention with per-head q/k norms and `attention_bias` on all four projections; layers of
/// `layer_types` "sliding_attention" (by default those from `max_window_layers` on, when
/// `sliding_window` is set) attend within `sliding_window`.
///
/// ### References
/// rednote-hilab 2025, "dots.llm1 Technical Report", arXiv 2506.05767.
public struct Dots1Family: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "dots1" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String {
    "DeepSeek-V3 routing under GQA with per-head q/k norms, sliding-window layers"
  }

  /// The router of the MoE block at `prefix`.
  public func router<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, gate: Linear<Scalar>
  ) throws -> any Router<Scalar> {
    try DeepSeekV2Family.groupLimitedRouter(
      checkpoint, prefix: prefix, gate: gate, sigmoid: true, defaultScaling: 1, defaultNormalize: false)
  }

  /// `sliding_window` on the "sliding_attention" layers of `layer_types`.
  public func window(_ checkpoint: HuggingFaceCheckpoint, layer i: Int) throws -> Int? {
    let config = checkpoint.config
    let (window, fromLayer) = try checkpoint.checked {
      (
        try config.optionalInt("sliding_window"),
        try config.int("max_window_layers", minimum: 0, fallback: 62)
      )
    }
    let fallback = (0..<checkpoint.layerCount).map {
      window != nil && $0 >= fromLayer ? "sliding_attention" : "full_attention"
    }
    return try checkpoint.layerTypeWindow(layer: i, fallback: fallback)
  }
}
