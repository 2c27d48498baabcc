import Linalg
import MoE

/// Llama 4's text model (`llama4_text`; a multimodal `llama4` config's text tower is not
/// loaded): feed-forward blocks at `model.layers.{i}.feed_forward`, MoE on `moe_layers` (dense
/// layers of `intermediate_size_mlp` between them); a MoE block routes each token to its top-k
/// experts by `feed_forward.router.weight` with weight `σ(logit)`, which scales the expert's
/// **input** (`E(σ·x)`), beside an ungated `shared_expert`; experts stored fused
/// (`experts.gate_up_proj` `[E, d, 2I]`, gate columns first, `experts.down_proj` `[E, I, d]`).
/// Attention: RoPE on interleaved pairs on the layers `no_rope_layers` marks 1, with a
/// weightless RMS norm of each query and key head after it (`use_qk_norm`) and attention within
/// chunks of `attention_chunk_size` ("chunked_attention" in `layer_types`); the other layers
/// have no positional encoding, attend to the whole context and scale their queries by
/// position (`attn_temperature_tuning`: `1 + attn_scale·log(1 + ⌊(p + 1)/floor_scale⌋)`).
///
/// ### References
/// Meta 2025, "The Llama 4 herd"; `transformers`' `modeling_llama4.py`.
public struct Llama4TextFamily: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "llama4_text" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String {
    "interleaved MoE and dense layers, sigmoid top-k scaling the expert input, shared expert, chunked and NoPE layers, L2 q/k norms, temperature tuning"
  }
  /// Whether RoPE pairs are stored interleaved in the query and key rows.
  public var interleavedRotary: Bool { true }

  /// `model.layers.{i}.feed_forward`.
  public func feedForwardPrefix(layer i: Int) -> String { "model.layers.\(i).feed_forward" }
  /// `prefix.router.weight`.
  public func routerGateName(prefix: String) -> String { "\(prefix).router.weight" }

  /// Top-k logits, each weight `σ(logit)`, not renormalised.
  public func router<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, gate: Linear<Scalar>
  ) throws -> any Router<Scalar> {
    GroupLimitedRouter(
      gate: gate, k: checkpoint.architecture.moe!.topK, scoring: .sigmoid, normalizeTopK: false)
  }

  /// The fused experts, gate columns first.
  public func experts<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, activation: ElementwiseFunction, as: Scalar.Type
  ) throws -> [FeedForward<Scalar>] {
    try checkpoint.fusedExperts(
      gateUp: "\(prefix).experts.gate_up_proj", down: "\(prefix).experts.down_proj", inputMajor: true,
      interleaved: false, biased: false, activation: activation, Scalar.self)
  }

  /// `shared_expert`.
  public var sharedExpertName: String { "shared_expert" }

  /// The router weights scale the experts' input.
  public func finish<Scalar: BLASScalar>(
    _ moe: inout MoELayer<Scalar>, _ checkpoint: HuggingFaceCheckpoint, layer i: Int
  ) throws {
    moe.weightsScaleInput = true
  }

  /// Chunks on "chunked_attention" layers; on RoPE layers the weightless q/k norms; on NoPE
  /// layers no rotation and, with `attn_temperature_tuning`, the query scaling.
  public func finish(
    _ attention: inout MultiHeadAttention<Float>, _ checkpoint: HuggingFaceCheckpoint, layer i: Int
  ) throws {
    let config = checkpoint.config
    let layers = checkpoint.layerCount
    let (listed, interval, normed, tuned, epsilon) = try checkpoint.checked {
      (
        try config.indices("no_rope_layers", below: 2),
        try config.int("no_rope_layer_interval", fallback: 4),
        try config.bool("use_qk_norm", fallback: true),
        try config.bool("attn_temperature_tuning", fallback: true),
        try config.double("rms_norm_eps", fallback: 1e-5)
      )
    }
    // transformers' defaults: every interval-th layer without RoPE; RoPE layers chunked.
    let roped = listed.isEmpty ? (0..<layers).map { ($0 + 1) % interval != 0 } : listed.map { $0 == 1 }
    guard roped.count == layers else {
      throw CheckpointError.config(
        .inconsistent(
          fields: ["no_rope_layers", "num_hidden_layers"],
          reason: "\(roped.count) entries for \(layers) layers"))
    }
    let usesRotary = roped[i]
    let chunk = try checkpoint.checked { try config.optionalInt("attention_chunk_size") }
    let types =
      try checkpoint.checked { try config.strings("layer_types") }
      ?? roped.map { $0 && chunk != nil ? "chunked_attention" : "full_attention" }
    guard types.count == layers, ["chunked_attention", "full_attention"].contains(types[i]) else {
      throw CheckpointError.unsupportedField(
        field: "layer_types", value: "\(types)",
        supported: "one chunked_attention or full_attention per layer")
    }
    if types[i] == "chunked_attention" {
      guard let chunk else { throw CheckpointError.config(.missingField("attention_chunk_size")) }
      attention.pattern.chunk = chunk
    }
    let head = attention.pattern.keyDimensions
    if usesRotary {
      if normed {
        let norm = RMSNorm<Float>(dimensions: head, epsilon: Float(epsilon))
        attention.queryKeyNorm = .init(query: norm, key: norm, perHead: true, afterRotary: true)
      }
    } else {
      attention.rotary = nil
      if tuned {
        let (scale, floor) = try checkpoint.checked {
          (try config.double("attn_scale", fallback: 0.1), try config.int("floor_scale", fallback: 8192))
        }
        attention.temperatureTuning = (scale, floor)
      }
    }
  }
}
