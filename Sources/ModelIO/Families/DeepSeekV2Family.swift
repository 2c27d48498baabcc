import Linalg
import MoE

/// DeepSeek-V2 (`deepseek_v2`, also DeepSeek-V2-Lite): multi-head latent attention
/// (`HuggingFaceCheckpoint.latentAttention`); softmax scores, `topk_method` `greedy` or
/// `group_limited_greedy` (groups scored by their best expert, the other groups' experts set
/// to 0 as `transformers` does), never renormalised, times `routed_scaling_factor` (default 1);
/// DeepSeek's ungated shared experts.
public struct DeepSeekV2Family: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "deepseek_v2" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String {
    "MLA with or without q-LoRA, softmax greedy or group-limited routing, shared experts, YaRN"
  }

  /// Softmax group-limited (or greedy) routing, never renormalised.
  public func router<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, gate: Linear<Scalar>
  ) throws -> any Router<Scalar> {
    try Self.groupLimitedRouter(checkpoint, prefix: prefix, gate: gate, sigmoid: false, defaultScaling: 1)
  }

  /// The DeepSeek-V2/V3 router as `transformers` builds it. V2 (`sigmoid` false): softmax,
  /// `topk_method` `greedy` or `group_limited_greedy` (groups scored by their best expert),
  /// never renormalised (whatever `norm_topk_prob` says), dropped groups' experts scored 0.
  /// V3 (`sigmoid`): sigmoid scores plus `gate.e_score_correction_bias` for selection, groups
  /// scored by their two best, renormalised (sum + 1e-20) when `norm_topk_prob` (default
  /// `defaultNormalize`), dropped groups masked with −∞. Both times `routed_scaling_factor`
  /// (default `defaultScaling`).
  static func groupLimitedRouter<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, gate: Linear<Scalar>, sigmoid v3: Bool,
    defaultScaling: Double, defaultNormalize: Bool = true
  ) throws -> GroupLimitedRouter<Scalar> {
    let config = checkpoint.config
    let shape = checkpoint.architecture.moe!
    let (experts, k) = (shape.routedExperts, shape.topK)
    let (method, normalize, scaling) = try checkpoint.checked {
      (
        v3 ? "group_limited" : try config.string("topk_method") ?? "greedy",
        v3 ? try config.bool("norm_topk_prob", fallback: defaultNormalize) : false,
        try config.double("routed_scaling_factor", fallback: defaultScaling)
      )
    }
    guard ["greedy", "group_limited_greedy", "group_limited"].contains(method) else {
      throw CheckpointError.unsupportedField(
        field: "topk_method", value: method, supported: "greedy, group_limited_greedy")
    }
    let (groups, keptGroups) =
      method == "greedy"
      ? (1, 1)
      : try checkpoint.checked {
        (try config.int("n_group", fallback: 1), try config.int("topk_group", fallback: 1))
      }
    guard experts % groups == 0, keptGroups <= groups, k <= experts / groups * keptGroups else {
      throw CheckpointError.config(
        .inconsistent(
          fields: ["n_routed_experts", "n_group", "topk_group", "num_experts_per_tok"],
          reason: "\(k) of \(experts) experts from \(keptGroups) of \(groups) groups"))
    }
    let bias =
      v3 ? try checkpoint.tensor("\(prefix).gate.e_score_correction_bias", [experts], Scalar.self) : nil
    var router = GroupLimitedRouter(
      gate: gate, k: k, scoring: v3 ? .sigmoid : .softmax, selectionBias: bias, groupCount: groups,
      topKGroup: keptGroups, groupScore: v3 ? .sumOfTopTwo : .best, normalizeTopK: normalize,
      routedScalingFactor: Scalar(scaling))
    if !v3 { router.ineligibleScore = 0 }
    return router
  }
}
