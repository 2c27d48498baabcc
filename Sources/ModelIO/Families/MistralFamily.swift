/// Mistral (`mistral`): Llama with every layer attending within `sliding_window` tokens.
public struct MistralFamily: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "mistral" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String { "dense GQA with a sliding window on every layer" }

  /// `sliding_window`, on every layer.
  public func window(_ checkpoint: HuggingFaceCheckpoint, layer i: Int) throws -> Int? {
    try checkpoint.checked { try checkpoint.config.optionalInt("sliding_window") }
  }
}
