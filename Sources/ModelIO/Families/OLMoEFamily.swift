import Linalg
import MoE

/// OLMoE (`olmoe`): whole-projection q/k RMSNorms (`H·D` and `Hkv·D` wide) before RoPE, then
/// the `clip_qkv` clamp on q, k and v; softmax top-k routing, renormalised when
/// `norm_topk_prob`.
public struct OLMoEFamily: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "olmoe" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String { "whole-projection q/k norms, clip_qkv, 64-expert softmax top-k" }

  /// `clip_qkv`, when the config has it (positive).
  public func finish(
    _ attention: inout MultiHeadAttention<Float>, _ checkpoint: HuggingFaceCheckpoint, layer i: Int
  ) throws {
    guard checkpoint.config.has("clip_qkv") else { return }
    let clip = try checkpoint.checked { try checkpoint.config.double("clip_qkv", fallback: 0) }
    guard clip > 0 else {
      throw CheckpointError.config(.outOfRange(field: "clip_qkv", value: "\(clip)", requirement: "positive"))
    }
    attention.clip = Float(clip)
  }
}
