import Foundation

/// The shape of a published decoder (its `config.json` fields), for a random checkpoint.
struct ModelShape: Sendable {
  var name: String
  var modelType: String
  var vocabulary: Int, width: Int, layers: Int, heads: Int, kvHeads: Int
  var experts: Int, topK: Int, expertHidden: Int
  var extraFields: [String: String] = [:]

  /// OLMoE-1B-7B (allenai/OLMoE-1B-7B-0924): 16 layers of 64 experts, 8 per token.
  static let olmoe = ModelShape(
    name: "OLMoE-1B-7B", modelType: "olmoe", vocabulary: 50304, width: 2048, layers: 16, heads: 16,
    kvHeads: 16,
    experts: 64, topK: 8, expertHidden: 1024, extraFields: ["rms_norm_eps": "1e-05", "rope_theta": "10000.0"])

  /// Mixtral-shaped but small enough for the test suite.
  static let tiny = ModelShape(
    name: "tiny", modelType: "olmoe", vocabulary: 512, width: 128, layers: 2, heads: 4, kvHeads: 4,
    experts: 8,
    topK: 2, expertHidden: 64)

  static let presets = ["olmoe": olmoe, "tiny": tiny]

  /// The `config.json` text.
  var configJSON: String {
    var fields = [
      "model_type": "\"\(modelType)\"", "vocab_size": "\(vocabulary)", "hidden_size": "\(width)",
      "num_hidden_layers": "\(layers)", "num_attention_heads": "\(heads)",
      "num_key_value_heads": "\(kvHeads)",
      "num_experts": "\(experts)", "num_experts_per_tok": "\(topK)", "intermediate_size": "\(expertHidden)",
      "hidden_act": "\"silu\"", "max_position_embeddings": "4096", "tie_word_embeddings": "false",
      "norm_topk_prob": "false", "torch_dtype": "\"bfloat16\"",
    ]
    fields.merge(extraFields) { $1 }
    return "{" + fields.keys.sorted().map { "\"\($0)\": \(fields[$0]!)" }.joined(separator: ", ") + "}\n"
  }

  /// Every tensor of an OLMoE checkpoint: name, shape, and the spread of its random values
  /// (0 for norms, which are 1).
  var tensors: [(name: String, shape: [Int], scale: Double)] {
    let (d, h, e) = (width, expertHidden, experts)
    let headDim = d / heads
    var all: [(String, [Int], Double)] = [
      ("model.embed_tokens.weight", [vocabulary, d], 1), ("model.norm.weight", [d], 0),
      ("lm_head.weight", [vocabulary, d], 1 / Double(d).squareRoot()),
    ]
    for i in 0..<layers {
      let p = "model.layers.\(i)"
      let inverse = 1 / Double(d).squareRoot()
      all += [
        ("\(p).input_layernorm.weight", [d], 0), ("\(p).post_attention_layernorm.weight", [d], 0),
        ("\(p).self_attn.q_proj.weight", [heads * headDim, d], inverse),
        ("\(p).self_attn.k_proj.weight", [kvHeads * headDim, d], inverse),
        ("\(p).self_attn.v_proj.weight", [kvHeads * headDim, d], inverse),
        ("\(p).self_attn.o_proj.weight", [d, heads * headDim], inverse),
        ("\(p).self_attn.q_norm.weight", [heads * headDim], 0),
        ("\(p).self_attn.k_norm.weight", [kvHeads * headDim], 0),
        ("\(p).mlp.gate.weight", [e, d], inverse),
      ]
      for j in 0..<e {
        all += [
          ("\(p).mlp.experts.\(j).gate_proj.weight", [h, d], inverse),
          ("\(p).mlp.experts.\(j).up_proj.weight", [h, d], inverse),
          ("\(p).mlp.experts.\(j).down_proj.weight", [d, h], 1 / Double(h).squareRoot()),
        ]
      }
    }
    return all
  }

  /// Bytes of the bf16 checkpoint's tensors.
  var checkpointBytes: Int { tensors.reduce(0) { $0 + 2 * $1.shape.reduce(1, *) } }

  /// Bytes one decode step at batch 1 reads, as MoEKit holds the model loaded from a bf16
  /// checkpoint: bf16 projections, experts and head (2 bytes a weight); Float router
  /// gates and norms (4); one embedding row.
  var decodeStepBytes: Int {
    let (d, h) = (width, expertHidden)
    let headDim = d / heads
    let attention = 2 * (d * heads * headDim * 2 + 2 * d * kvHeads * headDim)
    let perLayer =
      attention + 4 * (experts * d) + 2 * topK * 3 * d * h + 4 * (2 * d + heads * headDim + kvHeads * headDim)
    return layers * perLayer + 2 * vocabulary * d + 4 * d + 4 * d
  }
}
