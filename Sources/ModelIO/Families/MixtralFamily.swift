import Linalg
import MoE

/// Mixtral (`mixtral`): `model.layers.{i}.block_sparse_moe.gate.weight` and
/// `….experts.{j}.w1/w3/w2.weight` (gate/up/down); softmax over all experts → top-k →
/// renormalise (`TopKSoftmaxRouter`); Mistral's `sliding_window`.
public struct MixtralFamily: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "mixtral" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String {
    "every layer MoE, softmax top-k renormalised, w1/w3/w2 experts, sliding window"
  }
  /// The tensor-name prefix of layer `i`'s MoE block.
  public func feedForwardPrefix(layer i: Int) -> String { "model.layers.\(i).block_sparse_moe" }
  /// The names of an expert's gate, up and down projections.
  public var expertProjectionNames: (gate: String, up: String, down: String) { ("w1", "w3", "w2") }

  /// Always.
  public func normalizesTopK(_ checkpoint: HuggingFaceCheckpoint) throws -> Bool { true }

  /// `sliding_window`, on every layer.
  public func window(_ checkpoint: HuggingFaceCheckpoint, layer i: Int) throws -> Int? {
    try MistralFamily().window(checkpoint, layer: i)
  }
}
