import CostModel
import Linalg
import MoE

/// One Hugging Face model family, as its checkpoints are loaded: what loading needs beyond the
/// `Architecture` that `CostModel` reads from the same `config.json` (sizes, layer kinds, the
/// attention kind, the MoE shape) — its tensor names, its router, its shared expert and its
/// attention quirks. `HuggingFaceCheckpoint` builds every layer from the `Architecture` and asks
/// the family only these questions; `ModelFamilyRegistry` lists the families.
///
/// Adding a family is one file with one type conforming to this protocol, one line in
/// `ModelFamilyRegistry.families`, and a fixture from `scripts/make-model-fixtures.sh`.
public protocol ModelFamily: Sendable {
  /// The `config.json` `model_type` the family loads (`"mixtral"`).
  var modelType: String { get }
  /// One line for the docs: the family and what its loader reads that others do not.
  var summary: String { get }
  /// The tensor-name prefix of layer `i`'s feed-forward block, dense or MoE (default
  /// `model.layers.{i}.mlp`).
  func feedForwardPrefix(layer i: Int) -> String
  /// The names of an expert's gate, up and down projections (default `gate_proj`, `up_proj`,
  /// `down_proj`).
  var expertProjectionNames: (gate: String, up: String, down: String) { get }
  /// Whether the dense and shared feed-forward projections carry biases (default none).
  func feedForwardBias(_ checkpoint: HuggingFaceCheckpoint) throws -> Bool
  /// The names of each layer's two norms and of the final one, below `model.layers.{i}` and
  /// `model` (default `input_layernorm`, `post_attention_layernorm`, `norm`).
  var normNames: (attention: String, feedForward: String, final: String) { get }
  /// What the stored RMSNorm gains are offset by (Qwen3-Next stores `w` for a gain `1 + w`;
  /// default 0).
  var normGainOffset: Float { get }
  /// Whether each head's query and key rows are stored with RoPE's pairs interleaved
  /// (`2j, 2j+1`) rather than split in halves (default false). The loader then reorders those
  /// rows evens-then-odds, which turns the interleaved rotation into `RotaryEmbedding`'s
  /// rotate-half one without changing any score.
  var interleavedRotary: Bool { get }
  /// The name of the router gate's weight (`E × d`) in the MoE block at `prefix` (default
  /// `prefix.gate.weight`).
  func routerGateName(prefix: String) -> String
  /// The q/k norms' tensor names within `self_attn` and whether they apply after RoPE (default
  /// `q_norm`, `k_norm`, before), for an architecture that has them.
  var queryKeyNormLayout: (query: String, key: String, afterRotary: Bool) { get }
  /// Whether the default router renormalises the chosen experts' probabilities (default:
  /// `norm_topk_prob`, false when absent).
  func normalizesTopK(_ checkpoint: HuggingFaceCheckpoint) throws -> Bool
  /// The router of the MoE block at `prefix`, over its gate `x·W_gᵀ` (`E × d`, read from
  /// `routerGateName`); by default softmax over the experts → top-k → renormalised as
  /// `normalizesTopK` says.
  func router<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, gate: Linear<Scalar>
  ) throws -> any Router<Scalar>
  /// The routed experts of the MoE block at `prefix` (default: one gated network per expert,
  /// `prefix.experts.{j}.{gate,up,down}` named by `expertProjectionNames`, of the
  /// architecture's expert width, with `activation`).
  func experts<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, activation: ElementwiseFunction, as: Scalar.Type
  ) throws -> [FeedForward<Scalar>]
  /// The name of the shared expert's network within the MoE block (default `shared_experts`).
  var sharedExpertName: String { get }
  /// The shared expert of the MoE block at `prefix`: by default, when the architecture has
  /// shared experts, one network `prefix.{sharedExpertName}` of `sharedExperts ·
  /// sharedExpert.hidden` (DeepSeek stores its `n_shared_experts` fused), biased as the
  /// architecture says, gated by `prefix.{sharedExpertName}_gate.weight` when it has a gate
  /// (Qwen2-MoE); `nil` without shared experts.
  func sharedExpert<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, as: Scalar.Type
  ) throws -> SharedExpert<Scalar>?
  /// Layer `i`'s local attention window, or `nil` for full causal attention (the default).
  func window(_ checkpoint: HuggingFaceCheckpoint, layer i: Int) throws -> Int?
  /// Sets what the family adds to layer `i`'s grouped-query attention after the loader built
  /// it (OLMoE's `clip_qkv`, Llama 4's chunks and NoPE layers); nothing by default.
  func finish(_ attention: inout MultiHeadAttention<Float>, _ checkpoint: HuggingFaceCheckpoint, layer i: Int)
    throws
  /// Sets what the family adds to the whole model after the loader built it (Granite's
  /// multipliers); nothing by default.
  func finish(_ model: inout DecoderModel<Float>, _ checkpoint: HuggingFaceCheckpoint) throws
  /// Sets what the family adds to layer `i`'s MoE block after the loader built it (Llama 4's
  /// input-scaling weights); nothing by default.
  func finish<Scalar: BLASScalar>(
    _ moe: inout MoELayer<Scalar>, _ checkpoint: HuggingFaceCheckpoint, layer i: Int)
    throws
}

extension ModelFamily {
  /// `model.layers.{i}.mlp`.
  public func feedForwardPrefix(layer i: Int) -> String { "model.layers.\(i).mlp" }
  /// One gated network per expert at `prefix.experts.{j}`.
  public func experts<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, activation: ElementwiseFunction, as: Scalar.Type
  ) throws -> [FeedForward<Scalar>] {
    let shape = checkpoint.architecture.moe!
    return try (0..<shape.routedExperts).map { j in
      try checkpoint.network(
        "\(prefix).experts.\(j)", hidden: shape.expert.hidden, activation: activation,
        names: expertProjectionNames, Scalar.self)
    }
  }
  /// `prefix.gate.weight`.
  public func routerGateName(prefix: String) -> String { "\(prefix).gate.weight" }
  /// `q_norm` and `k_norm`, before RoPE.
  public var queryKeyNormLayout: (query: String, key: String, afterRotary: Bool) {
    ("q_norm", "k_norm", false)
  }
  /// The names of an expert's gate, up and down projections.
  public var expertProjectionNames: (gate: String, up: String, down: String) {
    ("gate_proj", "up_proj", "down_proj")
  }
  /// Whether the dense and shared feed-forward projections carry biases.
  public func feedForwardBias(_ checkpoint: HuggingFaceCheckpoint) throws -> Bool { false }
  /// `norm_topk_prob`, false when absent.
  public func normalizesTopK(_ checkpoint: HuggingFaceCheckpoint) throws -> Bool {
    try checkpoint.checked { try checkpoint.config.bool("norm_topk_prob", fallback: false) }
  }
  /// Softmax → top-k, renormalised as `normalizesTopK` says.
  public func router<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, gate: Linear<Scalar>
  ) throws -> any Router<Scalar> {
    TopKSoftmaxRouter(
      gate: gate, k: checkpoint.architecture.moe!.topK, normalizeTopK: try normalizesTopK(checkpoint))
  }
  /// Whether RoPE pairs are stored interleaved in the query and key rows.
  public var interleavedRotary: Bool { false }
  /// `input_layernorm`, `post_attention_layernorm`, `norm`.
  public var normNames: (attention: String, feedForward: String, final: String) {
    ("input_layernorm", "post_attention_layernorm", "norm")
  }
  /// 0: gains as stored.
  public var normGainOffset: Float { 0 }
  /// `shared_experts`.
  public var sharedExpertName: String { "shared_experts" }
  /// The architecture's shared experts as one network (see the requirement).
  public func sharedExpert<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, as: Scalar.Type
  ) throws -> SharedExpert<Scalar>? {
    guard let moe = checkpoint.architecture.moe, moe.sharedExperts > 0 else { return nil }
    let base = "\(prefix).\(sharedExpertName)"
    let network = try checkpoint.network(
      base, hidden: moe.sharedExperts * moe.sharedExpert.hidden, bias: moe.sharedExpert.bias, Scalar.self)
    guard moe.sharedExpertGate else { return SharedExpert(network: network) }
    return SharedExpert(
      network: network,
      gate: Linear(weight: try checkpoint.tensor("\(base)_gate.weight", [1, checkpoint.width], Scalar.self)))
  }
  /// Layer `i`'s local attention window, or `nil`.
  public func window(_ checkpoint: HuggingFaceCheckpoint, layer i: Int) throws -> Int? { nil }
  /// Completes layer `i`'s grouped-query attention.
  public func finish(
    _ attention: inout MultiHeadAttention<Float>, _ checkpoint: HuggingFaceCheckpoint, layer i: Int
  ) throws {}
  /// Nothing.
  public func finish<Scalar: BLASScalar>(
    _ moe: inout MoELayer<Scalar>, _ checkpoint: HuggingFaceCheckpoint, layer i: Int
  ) throws {}
  /// Nothing.
  public func finish(_ model: inout DecoderModel<Float>, _ checkpoint: HuggingFaceCheckpoint) throws {}
}
