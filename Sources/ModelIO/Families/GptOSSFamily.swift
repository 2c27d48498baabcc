import Linalg
import MoE

/// gpt-oss (`gpt_oss`): one learned sink logit per head (`self_attn.sinks`); "sliding_attention"
/// layers within `sliding_window` alternating with full ones (`layer_types`, by default the
/// even layers slide); biases on q/k/v/o; every layer MoE with a biased router
/// (`mlp.router.{weight,bias}`) whose top-k logits are softmaxed (the same weights as softmax
/// over all experts renormalised over the top k); experts stored fused —
/// `mlp.experts.gate_up_proj` `[E, d, 2I]` with the gate and up columns interleaved, its bias
/// `[E, 2I]`, `mlp.experts.down_proj` `[E, I, d]` and its bias `[E, d]` — running the
/// `ClampedSwiGLU` (`swiglu_alpha`, `swiglu_limit`); YaRN RoPE. From GGUF files the experts
/// come one by one (`experts.{j}.{gate,up,down}_proj.{weight,bias}`, as llama.cpp stores them
/// split, MXFP4 held where it lies). The published checkpoints hold
/// the experts in MXFP4 (`…_blocks`, `…_scales`): those are refused by name until MoEKit reads
/// that format; bf16 and float32 ones load.
///
/// ### References
/// OpenAI 2025, "gpt-oss-120b & gpt-oss-20b Model Card", arXiv 2508.10925.
public struct GptOSSFamily: ModelFamily {
  /// The family (it holds no state).
  public init() {}
  /// The `model_type` it loads.
  public var modelType: String { "gpt_oss" }
  /// What its loader reads that other families do not, for the docs.
  public var summary: String {
    "attention sinks, alternating sliding/full layers, biased router top-k then softmax, fused clamped-SwiGLU experts, YaRN"
  }

  /// `prefix.router.weight`.
  public func routerGateName(prefix: String) -> String { "\(prefix).router.weight" }

  /// The biased gate's top-k logits, softmaxed.
  public func router<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, gate: Linear<Scalar>
  ) throws -> any Router<Scalar> {
    let shape = checkpoint.architecture.moe!
    var biased = gate
    biased.bias = Parameter(
      try checkpoint.tensor("\(prefix).router.bias", [shape.routedExperts], Scalar.self))
    return TopKSoftmaxRouter(gate: biased, k: shape.topK, normalizeTopK: true)
  }

  /// The experts from the fused tensors (or one by one, as a GGUF file holds them), each with
  /// its biases and the clamped unit.
  public func experts<Scalar: BLASScalar>(
    _ checkpoint: HuggingFaceCheckpoint, prefix: String, activation: ElementwiseFunction, as: Scalar.Type
  ) throws -> [FeedForward<Scalar>] {
    let base = "\(prefix).experts"
    if checkpoint.weights.contains("\(base).gate_up_proj_blocks") {
      throw CheckpointError.unsupportedField(
        field: "\(base).gate_up_proj_blocks", value: "MXFP4", supported: "bf16 or float32 experts")
    }
    let (alpha, limit) = try checkpoint.checked {
      (
        try checkpoint.config.double("swiglu_alpha", fallback: 1.702),
        try checkpoint.config.double("swiglu_limit", fallback: 7)
      )
    }
    guard alpha.isFinite, limit > 0, limit.isFinite else {
      throw CheckpointError.config(
        .outOfRange(
          field: "swiglu_limit", value: "\(limit) (swiglu_alpha \(alpha))",
          requirement: "a finite positive limit and a finite alpha"))
    }
    let shape = checkpoint.architecture.moe!
    var experts =
      checkpoint.weights.contains("\(base).0.gate_proj.weight")
      ? try (0..<shape.routedExperts).map { j in
        try checkpoint.network(
          "\(base).\(j)", hidden: shape.expert.hidden, bias: true, activation: activation, Scalar.self)
      }
      : try checkpoint.fusedExperts(
        gateUp: "\(base).gate_up_proj", down: "\(base).down_proj", inputMajor: true, interleaved: true,
        biased: true, activation: activation, Scalar.self)
    for e in experts.indices { experts[e].clamp = ClampedSwiGLU(alpha: alpha, limit: limit) }
    return experts
  }

  /// `sliding_window` on the "sliding_attention" layers of `layer_types` (by default the even
  /// layers).
  public func window(_ checkpoint: HuggingFaceCheckpoint, layer i: Int) throws -> Int? {
    try checkpoint.layerTypeWindow(
      layer: i,
      fallback: (0..<checkpoint.layerCount).map { $0 % 2 == 0 ? "sliding_attention" : "full_attention" })
  }
}
