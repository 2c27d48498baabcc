/// Llama (`llama`): the dense baseline — grouped-query attention with `attention_bias` on all
/// four projections, RoPE of every kind `RotaryEmbedding` reads (`default`, `linear`, `llama3`,
/// `yarn`, `partial_rotary_factor`), a gated MLP per layer.
public struct LlamaFamily: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "llama" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String { "dense GQA, RoPE default/linear/llama3/YaRN, tied or separate head" }
}
