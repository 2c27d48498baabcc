/// Qwen3-MoE (`qwen3_moe`): Qwen2-MoE's names and router without the shared expert, per-head
/// q/k RMSNorms before RoPE; sliding windows are refused.
public struct Qwen3MoEFamily: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "qwen3_moe" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String { "per-head q/k norms, norm_topk_prob, dense layers by decoder_sparse_step" }

  /// Full attention; `use_sliding_window: true` is refused by name.
  public func window(_ checkpoint: HuggingFaceCheckpoint, layer i: Int) throws -> Int? {
    guard try checkpoint.checked({ try checkpoint.config.bool("use_sliding_window", fallback: false) }) else {
      return nil
    }
    throw CheckpointError.unsupportedField(field: "use_sliding_window", value: "true", supported: "false")
  }
}
