import Linalg
import MoE

/// Granite MoE (`granitemoe`): Mixtral's layout under four multipliers — the embedding times
/// `embedding_multiplier`, attention scores times `attention_multiplier` (in place of
/// `1/√D`), each sublayer's output times `residual_multiplier` before its residual, the logits
/// divided by `logits_scaling`; biases on the four attention projections with
/// `attention_bias`; a router `block_sparse_moe.router.layer.weight` whose top-k logits are
/// softmaxed; experts stored fused out × in (`block_sparse_moe.input_linear.weight`
/// `[E, 2I, d]`, gate rows first, and `output_linear.weight` `[E, d, I]`).
///
/// ### References
/// IBM 2024, "Granite 3.0 Language Models".
public struct GraniteMoEFamily: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "granitemoe" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String {
    "embedding, attention, residual and logit multipliers; fused out×in experts; top-k then softmax"
  }

  /// `model.layers.{i}.block_sparse_moe`.
  public func feedForwardPrefix(layer i: Int) -> String { "model.layers.\(i).block_sparse_moe" }
  /// `prefix.router.layer.weight`.
  public func routerGateName(prefix: String) -> String { "\(prefix).router.layer.weight" }

  /// Always.
  public func normalizesTopK(_ checkpoint: HuggingFaceCheckpoint) throws -> Bool { true }

  /// The fused experts, out × in, gate rows first.
  public func experts<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, activation: ElementwiseFunction, as: Scalar.Type
  ) throws -> [FeedForward<Scalar>] {
    try checkpoint.fusedExperts(
      gateUp: "\(prefix).input_linear.weight", down: "\(prefix).output_linear.weight", inputMajor: false,
      interleaved: false, biased: false, activation: activation, Scalar.self)
  }

  /// Scores times `attention_multiplier`.
  public func finish(
    _ attention: inout MultiHeadAttention<Float>, _ checkpoint: HuggingFaceCheckpoint, layer i: Int
  ) throws {
    attention.pattern.scale = try multiplier("attention_multiplier", checkpoint)
  }

  /// The embedding, residual and logit multipliers.
  public func finish(_ model: inout DecoderModel<Float>, _ checkpoint: HuggingFaceCheckpoint) throws {
    model.embeddingScale = Float(try multiplier("embedding_multiplier", checkpoint))
    model.logitScale = Float(1 / (try multiplier("logits_scaling", checkpoint)))
    let residual = Float(try multiplier("residual_multiplier", checkpoint))
    for i in model.blocks.indices {
      model.blocks[i].residualScale = residual
      model.blocks[i].feedForward.residualScale = residual
    }
  }

  /// A multiplier of the config (default 1), finite and positive.
  func multiplier(_ field: String, _ checkpoint: HuggingFaceCheckpoint) throws -> Double {
    let value = try checkpoint.checked { try checkpoint.config.double(field, fallback: 1) }
    guard value.isFinite, value > 0 else {
      throw CheckpointError.config(
        .outOfRange(field: field, value: "\(value)", requirement: "finite and positive"))
    }
    return value
  }
}
