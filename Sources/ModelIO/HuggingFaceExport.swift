import Foundation
import Linalg
import MoE
import Report

/// Writes a `DecoderModel` trained in MoEKit as a Hugging Face checkpoint of an existing
/// family, so that `HuggingFaceModel` and `transformers` itself load it: `config.json` and
/// `model.safetensors` (Float32) in a new folder.
///
/// - **Llama** (`llama`) for dense models: `model.layers.{i}.mlp.{gate,up,down}_proj.weight`.
/// - **Mixtral** (`mixtral`) for MoE models: `model.layers.{i}.block_sparse_moe.gate.weight`
///   and `….experts.{j}.w1/w3/w2.weight` (gate/up/down).
///
/// Both share `model.embed_tokens.weight`, `model.layers.{i}.input_layernorm.weight`,
/// `….self_attn.{q,k,v,o}_proj.weight`, `….post_attention_layernorm.weight`,
/// `model.norm.weight` and, when the head is not tied, `lm_head.weight`; `rope_theta`,
/// `rms_norm_eps`, the heads and widths come from the model itself.
///
/// Only what the family's modeling code computes can be written, so every block must have
/// RoPE attention without window, biases, query/key norms or clipping, RMSNorms of one ε,
/// and SwiGLU feed-forwards; a Mixtral's every block must be MoE with the same softmax
/// top-k router (renormalised), no shared expert and no capacity factor. Anything else is
/// `CheckpointError.unsupportedField` naming what the family lacks.
public enum HuggingFaceExport {
  /// The family a model is written as.
  public enum Family: String, Sendable, CaseIterable {
    /// Dense decoders.
    case llama
    /// MoE decoders with softmax top-k routing.
    case mixtral
  }

  /// Writes `model` as `family` to the new folder `folder` (replacing a folder already
  /// there only after the new one is complete), with `byteTokenizerJSON` as its
  /// `tokenizer.json` when `byteTokenizer` (a model of 256 tokens, each a byte).
  ///
  /// - Throws: `CheckpointError.unsupportedField` when the model uses something the family
  ///   cannot express (or has no 256-token vocabulary for `byteTokenizer`), `.unreadableModel`
  ///   when the folder's parent is missing, and the file system's errors.
  public static func write(
    _ model: DecoderModel<Float>, as family: Family, to folder: String, byteTokenizer: Bool = false
  ) throws {
    let config = try configuration(model, as: family)
    if byteTokenizer && model.vocabulary != 256 {
      throw CheckpointError.unsupportedField(
        field: "vocab_size", value: "\(model.vocabulary)", supported: "256 for a byte tokenizer")
    }
    var tensors: [String: Tensor] = [:]
    for (name, parameter) in model.namedParameters {
      let target = huggingFaceName(name, family: family)
      let value = parameter.value
      tensors[target] = Tensor(
        value, shape: value.rows == 1 && target.hasSuffix("norm.weight") ? [value.columns] : nil, as: .f32)
    }
    try AtomicFolder.write(folder) { temporary in
      try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"], to: temporary + "/model.safetensors")
      try AtomicFile.write(config, to: temporary + "/config.json")
      if byteTokenizer { try AtomicFile.write(Self.byteTokenizerJSON, to: temporary + "/tokenizer.json") }
    }
  }

  /// A `tokenizer.json` whose token `b` is byte `b`: a byte-level BPE over GPT-2's byte
  /// alphabet with no merges, so every byte of a text is one token (what MoEKit's byte-level
  /// language models read); llama.cpp reads it too once written to GGUF.
  public static let byteTokenizerJSON: Data = {
    let vocabulary = ByteLevelAlphabet.characters.enumerated().map { byte, character in
      "\(JSON.quoted(String(character))): \(byte)"
    }
    let byteLevel =
      #"{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}"#
    let model =
      #"{"type": "BPE", "dropout": null, "unk_token": null, "fuse_unk": false, "byte_fallback": false, "vocab": {"#
      + vocabulary.joined(separator: ", ") + #"}, "merges": []}"#
    return Data(
      (#"{"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": "# + byteLevel
        + #", "post_processor": null, "decoder": "# + byteLevel + #", "model": "# + model + "}\n").utf8)
  }()

  /// `config.json` for `model` as `family`, after checking that the family can express it.
  static func configuration(_ model: DecoderModel<Float>, as family: Family) throws -> Data {
    func refuse(_ field: String, _ value: String, _ supported: String) -> CheckpointError {
      .unsupportedField(field: field, value: value, supported: "\(supported) (\(family.rawValue) export)")
    }
    guard let first = model.blocks.first?.grouped else {
      throw refuse("attention", "multi-head latent attention", "multi-head or grouped-query attention")
    }
    let pattern = first.pattern
    guard let rotary = first.rotary, rotary.scaling == .none,
      rotary.rotatedDimensions == rotary.headDimensions
    else {
      throw refuse("attention.rotary", "none or scaled", "plain RoPE over the whole head")
    }
    guard case .rms = model.finalNorm, model.embeddingScale == 1, model.logitScale == 1,
      model.tiedHeadBias == nil
    else {
      throw refuse("model", "a LayerNorm, multipliers or a tied head's bias", "RMSNorms and a plain head")
    }
    let epsilon = model.finalNorm.epsilon
    var (experts, k, hidden) = (0, 0, 0)
    for (i, block) in model.blocks.enumerated() {
      guard let attention = block.grouped, attention.pattern.heads == pattern.heads,
        attention.pattern.kvHeads == pattern.kvHeads,
        attention.pattern.keyDimensions == pattern.keyDimensions,
        attention.pattern.window == nil, attention.pattern.chunk == nil, attention.pattern.sinks == nil,
        attention.rotary == rotary, attention.queryKeyNorm == nil, attention.clip == nil,
        attention.temperatureTuning == nil, block.residualScale == 1, block.feedForward.residualScale == 1,
        [attention.query, attention.key, attention.value, attention.output].allSatisfy({ $0.bias == nil })
      else {
        throw refuse(
          "layers.\(i).self_attn", "another attention", "layer 0's unwindowed, bias-free RoPE attention")
      }
      guard case .rms = block.attentionNorm, case .rms = block.feedForward.feedForwardNorm,
        block.attentionNorm.epsilon == epsilon, block.feedForward.feedForwardNorm.epsilon == epsilon
      else {
        throw refuse("layers.\(i) norms", "another ε", "one rms_norm_eps")
      }
      let networks: [FeedForward<Float>]
      switch (block.feedForward.feedForward, family) {
      case (.dense(let network), .llama):
        networks = [network]
      case (.moe(let layer), .mixtral):
        guard let router = layer.router as? TopKSoftmaxRouter<Float>, router.normalizeTopK,
          router.gate.bias == nil, layer.sharedExpert == nil, layer.capacityFactor == nil,
          !layer.weightsScaleInput
        else {
          throw refuse(
            "layers.\(i).moe", "its router, shared expert or capacity",
            "dropless softmax top-k routing, renormalised, without a shared expert")
        }
        guard experts == 0 || (experts == layer.expertCount && k == router.defaultK) else {
          throw refuse(
            "layers.\(i).moe", "\(layer.expertCount) experts, top-\(router.defaultK)", "one E and k")
        }
        (experts, k) = (layer.expertCount, router.defaultK)
        networks = layer.experts
      case (.dense, .mixtral):
        throw refuse("layers.\(i)", "a dense feed-forward", "MoE in every layer")
      case (.moe, .llama):
        throw refuse("layers.\(i)", "a MoE feed-forward", "dense feed-forwards")
      }
      for network in networks {
        guard network.isGated, network.activation == .silu, network.clamp == nil,
          [network.gate!, network.up, network.down].allSatisfy({ $0.bias == nil }),
          hidden == 0 || hidden == network.hiddenDimensions
        else {
          throw refuse("layers.\(i) feed-forward", "not SwiGLU of one width", "bias-free SwiGLU of one width")
        }
        hidden = network.hiddenDimensions
      }
    }
    var fields: [String] = [
      "\"architectures\": [\"\(family == .llama ? "LlamaForCausalLM" : "MixtralForCausalLM")\"]",
      "\"model_type\": \"\(family.rawValue)\"",
      "\"vocab_size\": \(model.vocabulary)",
      "\"hidden_size\": \(model.dimensions)",
      "\"intermediate_size\": \(hidden)",
      "\"num_hidden_layers\": \(model.blocks.count)",
      "\"num_attention_heads\": \(pattern.heads)",
      "\"num_key_value_heads\": \(pattern.kvHeads)",
      "\"head_dim\": \(pattern.keyDimensions)",
      "\"hidden_act\": \"silu\"",
      "\"rms_norm_eps\": \(Double(epsilon))",
      "\"rope_theta\": \(rotary.base)",
      "\"max_position_embeddings\": 4096",
      "\"attention_bias\": false",
      "\"tie_word_embeddings\": \(model.head == nil)",
      "\"torch_dtype\": \"float32\"",
    ]
    if family == .mixtral {
      fields += [
        "\"num_local_experts\": \(experts)", "\"num_experts_per_tok\": \(k)", "\"sliding_window\": null",
      ]
    } else {
      fields += ["\"mlp_bias\": false"]
    }
    return Data(("{\n  " + fields.joined(separator: ",\n  ") + "\n}\n").utf8)
  }

  /// The Hugging Face name of the MoEKit parameter `name` (`DecoderModel.visitParameters`).
  static func huggingFaceName(_ name: String, family: Family) -> String {
    if name == "lm_head.weight" { return name }
    var parts = name.split(separator: ".").map(String.init)
    if parts.count >= 3 && parts[0] == "layers" {
      switch parts[2] {
      case "norm": parts[2] = "post_attention_layernorm"
      case "mlp":
        parts[3] = ["gate": "gate_proj", "up": "up_proj", "down": "down_proj"][parts[3]] ?? parts[3]
      case "moe":
        parts[2] = "block_sparse_moe"
        if parts[3] == "router" {
          parts.remove(at: 3)
        } else if parts[3] == "experts" {
          parts[5] = ["gate": "w1", "up": "w3", "down": "w2"][parts[5]] ?? parts[5]
        }
      default: break
      }
    }
    return "model." + parts.joined(separator: ".")
  }
}
