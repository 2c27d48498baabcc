import Linalg
import MoE

/// Jamba (`jamba`): `MambaMixer` layers (`mamba.*`, with RMSNorms on `δ`, `B` and `C`) on every
/// layer but those with `i % attn_layer_period == attn_layer_offset`, which attend without any
/// positional encoding; feed-forward blocks at `feed_forward` — MoE on
/// `i % expert_layer_period == expert_layer_offset` (router `feed_forward.router.weight`, softmax
/// top-k not renormalised), dense elsewhere; norms `input_layernorm`, `pre_ff_layernorm` and
/// `final_layernorm`.
///
/// ### References
/// Lieber et al. 2024, "Jamba: A Hybrid Transformer-Mamba Language Model", arXiv 2403.19887.
public struct JambaFamily: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "jamba" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String {
    "Mamba layers with a recurrent state beside attention without positions, MoE every other layer"
  }
  /// `input_layernorm`, `pre_ff_layernorm`, `final_layernorm`.
  public var normNames: (attention: String, feedForward: String, final: String) {
    ("input_layernorm", "pre_ff_layernorm", "final_layernorm")
  }

  /// `model.layers.{i}.feed_forward`.
  public func feedForwardPrefix(layer i: Int) -> String { "model.layers.\(i).feed_forward" }
  /// `prefix.router.weight`.
  public func routerGateName(prefix: String) -> String { "\(prefix).router.weight" }

  /// No positional encoding.
  public func finish(
    _ attention: inout MultiHeadAttention<Float>, _ checkpoint: HuggingFaceCheckpoint, layer i: Int
  ) throws {
    attention.rotary = nil
  }
}
