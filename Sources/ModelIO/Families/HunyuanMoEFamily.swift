import Linalg
import MoE

/// Hunyuan-MoE (`hunyuan_v1_moe`, and the remote-code `hunyuan`): per-head q/k RMSNorms
/// (`self_attn.query_layernorm`, `….key_layernorm`) applied **after** RoPE; the gate
/// `mlp.gate.wg.weight` scores by softmax, top-`moe_topk`, renormalised; one ungated shared
/// network `mlp.shared_mlp.*` of `intermediate_size` beside the experts (also of
/// `intermediate_size`); RoPE's "dynamic" type with a fixed `alpha` stretches the base
/// (NTK-alpha). Per-layer lists of expert counts are refused by name.
///
/// ### References
/// Tencent Hunyuan Team 2025, "Hunyuan-A13B Technical Report".
public struct HunyuanMoEFamily: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "hunyuan_v1_moe" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String {
    "q/k norms after RoPE, NTK-alpha RoPE, renormalised softmax top-k, an ungated shared MLP"
  }
  /// `query_layernorm` and `key_layernorm`, after RoPE.
  public var queryKeyNormLayout: (query: String, key: String, afterRotary: Bool) {
    ("query_layernorm", "key_layernorm", true)
  }

  /// `prefix.gate.wg.weight`.
  public func routerGateName(prefix: String) -> String { "\(prefix).gate.wg.weight" }

  /// Always.
  public func normalizesTopK(_ checkpoint: HuggingFaceCheckpoint) throws -> Bool { true }

  /// `shared_mlp`.
  public var sharedExpertName: String { "shared_mlp" }
}
