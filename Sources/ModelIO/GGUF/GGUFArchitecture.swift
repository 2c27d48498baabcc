import Foundation

/// How one GGUF architecture (`general.architecture`) maps onto a Hugging Face family, so that
/// a GGUF file loads through the same `ModelFamily` and `Architecture` as the family's own
/// checkpoints: its metadata become the `config.json` fields the family reads (`config(of:)`),
/// its tensor names the family's (`huggingFaceNames(of:family:)`), each expert of a stacked
/// `ffn_*_exps` tensor a matrix of its own.
///
/// `deepseek2` (DeepSeek-V2, and V3 when its gates are sigmoid) reads the routing the same way
/// and the latent attention's ranks and sizes (`latentAttention(_:into:)`); its `kv_b_proj` is
/// put back together from the `attn_k_b` and `attn_v_b` halves newer converters split it into.
/// `glm4moe` (GLM-4.5) reads DeepSeek-V3's routing from the file (`deepSeekRouting(_:into:)`),
/// partial RoPE from `rope.dimension_count`, and leaves its multi-token-prediction layers
/// unread (`mainLayerCount(of:)`). `gpt-oss` adds attention sinks (`attn_sinks`), its pre-feed-forward norm under
/// `post_attention_norm`, biases on the router and on every expert (stacked `ffn_*_exps.bias`),
/// sliding layers (`attention.sliding_window`, the even layers as llama.cpp builds them) and the
/// clamped SwiGLU at llama.cpp's fixed α = 1.702 and limit 7. YaRN RoPE (`rope.scaling.type`
/// `yarn`) is read for every architecture, with the correction range rounded outward as ggml
/// computes it.
///
/// llama.cpp's converter stores the `llama` architecture's query and key rows with each head's
/// rotary pairs interleaved (`permutesQueryKey`); the other architectures keep
/// `transformers`' rotate-half order. Which expert weights llama.cpp renormalises after top-k
/// is fixed per architecture in its model graphs (`normalizesTopK`).
///
/// ### References
/// llama.cpp's `convert_hf_to_gguf.py` (tensor names, metadata keys) and `src/models/*.cpp`
/// (top-k renormalisation); the GGUF specification's standardized key-value pairs.
public struct GGUFArchitecture: Sendable {
  /// The GGUF architecture name (`"qwen3moe"`).
  public let name: String
  /// The Hugging Face `model_type` it maps to: with experts, and without.
  let modelTypes: (moe: String, dense: String?)
  /// Whether query and key rows are stored with rotary pairs interleaved.
  let permutesQueryKey: Bool
  /// Whether the top-k expert weights are renormalised to sum to one.
  let normalizesTopK: Bool
  /// The per-layer tensor holding the norm before the feed-forward (`post_attention_norm` for
  /// gpt-oss and GLM-4.5, whose post-attention norm it is; other architectures' post-attention
  /// norms are another norm).
  var feedForwardNorm = "ffn_norm"
  /// Whether `HuggingFaceModel.saveGGUF` writes it (not gpt-oss, whose experts are held fused as
  /// its checkpoints store them; not GLM-4.5 or DeepSeek, whose routing metadata and latent
  /// attention are read, not written).
  var writable = true

  /// Whether the GGUF tensor is a query or key projection's weight or bias (the rows the
  /// `llama` architecture stores with rotary pairs interleaved).
  func isQueryOrKey(_ gguf: String) -> Bool {
    ["attn_q.weight", "attn_k.weight", "attn_q.bias", "attn_k.bias"].contains { gguf.hasSuffix(".\($0)") }
  }

  /// The per-layer tensor kinds (`blk.{i}.{kind}.weight` / `.bias`) that
  /// `huggingFaceNames(of:family:experts:)` maps.
  static let layerTensorKinds = [
    "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "attn_q_norm", "attn_k_norm", "ffn_norm",
    "ffn_gate_inp", "ffn_gate", "ffn_up", "ffn_down", "ffn_gate_exps", "ffn_up_exps", "ffn_down_exps",
    "ffn_gate_shexp", "ffn_up_shexp", "ffn_down_shexp", "ffn_gate_inp_shexp", "attn_sinks",
    "post_attention_norm", "exp_probs_b",
  ]

  /// The most experts a layer may declare (published models have at most a few hundred).
  public static let maximumExperts = 1 << 16

  /// The architectures MoEKit loads.
  public static let all: [GGUFArchitecture] = [
    GGUFArchitecture(
      name: "llama", modelTypes: ("mixtral", "llama"), permutesQueryKey: true, normalizesTopK: true),
    GGUFArchitecture(
      name: "qwen3moe", modelTypes: ("qwen3_moe", nil), permutesQueryKey: false, normalizesTopK: true),
    GGUFArchitecture(
      name: "qwen2moe", modelTypes: ("qwen2_moe", nil), permutesQueryKey: false, normalizesTopK: false),
    GGUFArchitecture(
      name: "olmoe", modelTypes: ("olmoe", nil), permutesQueryKey: false, normalizesTopK: false),
    GGUFArchitecture(
      name: "gpt-oss", modelTypes: ("gpt_oss", nil), permutesQueryKey: false, normalizesTopK: true,
      feedForwardNorm: "post_attention_norm", writable: false),
    GGUFArchitecture(
      name: "glm4moe", modelTypes: ("glm4_moe", nil), permutesQueryKey: false, normalizesTopK: false,
      feedForwardNorm: "post_attention_norm", writable: false),
    GGUFArchitecture(
      name: "deepseek2", modelTypes: ("deepseek_v2", nil), permutesQueryKey: false, normalizesTopK: false,
      writable: false),
  ]

  /// The architectures `HuggingFaceModel.saveGGUF` writes.
  static var writable: [GGUFArchitecture] { all.filter(\.writable) }

  /// The architecture of `file`.
  ///
  /// - Throws: `GGUFError.missingMetadata` without `general.architecture`,
  ///   `.unsupportedArchitecture` for one not in `all`.
  public static func of(_ file: GGUFFile) throws -> GGUFArchitecture {
    guard let name = file.metadata["general.architecture"]?.string else {
      throw GGUFError.missingMetadata(key: "general.architecture", expected: "a string")
    }
    guard let architecture = all.first(where: { $0.name == name }) else {
      throw GGUFError.unsupportedArchitecture(name, supported: all.map(\.name))
    }
    return architecture
  }

  /// The metadata of `file` as the `config.json` object of the mapped family.
  ///
  /// - Throws: `GGUFError.missingMetadata` for a size the model needs,
  ///   `.unsupportedModelFeature` for RoPE scaling other than YaRN and per-layer head counts.
  public func config(of file: GGUFFile) throws -> [String: Any] {
    let m = file.metadata
    func int(_ key: String) throws -> Int {
      guard let value = m["\(name).\(key)"]?.integer else {
        throw GGUFError.missingMetadata(key: "\(name).\(key)", expected: "a whole number")
      }
      return value
    }
    func double(_ key: String, _ fallback: Double) throws -> Double {
      switch m["\(name).\(key)"] {
      case nil: return fallback
      case .float(let v)?: return v
      case let value?:
        guard let v = value.integer else {
          throw GGUFError.missingMetadata(key: "\(name).\(key)", expected: "a number")
        }
        return Double(v)
      }
    }
    let scaling = m["\(name).rope.scaling.type"]?.string ?? "none"
    guard scaling == "none" || scaling == "yarn" else {
      throw GGUFError.unsupportedModelFeature("RoPE scaling \"\(scaling)\"", supported: "none, yarn")
    }
    if case .array? = m["\(name).attention.head_count_kv"] {
      throw GGUFError.unsupportedModelFeature("per-layer key-value head counts", supported: "one count")
    }
    guard let embedding = file.tensors["token_embd.weight"], embedding.dimensions.count == 2 else {
      throw GGUFError.tensorNotFound("token_embd.weight")
    }
    let experts = m["\(name).expert_count"]?.integer ?? 0
    guard (0...Self.maximumExperts).contains(experts) else {
      throw GGUFError.missingMetadata(
        key: "\(name).expert_count", expected: "0 to \(Self.maximumExperts) experts")
    }
    let heads = try int("attention.head_count")
    var config: [String: Any] = [
      "vocab_size": embedding.dimensions[1],
      "hidden_size": try int("embedding_length"),
      "num_hidden_layers": try int("block_count"),
      "num_attention_heads": heads,
      "num_key_value_heads": m["\(name).attention.head_count_kv"]?.integer ?? heads,
      "intermediate_size": try int("feed_forward_length"),
      "max_position_embeddings": try int("context_length"),
      "rms_norm_eps": try double("attention.layer_norm_rms_epsilon", 1e-6),
      "rope_theta": try double("rope.freq_base", 10_000),
      "hidden_act": "silu",
      "tie_word_embeddings": file.tensors["output.weight"] == nil,
    ]
    if let headSize = m["\(name).attention.key_length"]?.integer { config["head_dim"] = headSize }
    config["num_hidden_layers"] = try mainLayerCount(of: file)
    if name == "deepseek2" {
      try latentAttention(file, into: &config)
    } else if let rotated = m["\(name).rope.dimension_count"]?.integer,
      let headSize = config["head_dim"] as? Int,
      rotated != headSize
    {
      guard rotated > 0, rotated < headSize, rotated % 2 == 0 else {
        throw GGUFError.missingMetadata(
          key: "\(name).rope.dimension_count", expected: "an even count of at most the head size \(headSize)")
      }
      config["partial_rotary_factor"] = Double(rotated) / Double(headSize)
    }
    if scaling == "yarn" {
      // ggml rounds the correction range outward (`truncate`); an attention factor, when given.
      var yarn: [String: Any] = [
        "rope_type": "yarn", "rope_theta": config["rope_theta"]!, "truncate": true,
        "factor": try double("rope.scaling.factor", .nan),
        "original_max_position_embeddings": try int("rope.scaling.original_context_length"),
        "beta_fast": try double("rope.scaling.yarn_beta_fast", 32),
        "beta_slow": try double("rope.scaling.yarn_beta_slow", 1),
      ]
      if m["\(name).rope.scaling.yarn_attn_factor"] != nil {
        yarn["attention_factor"] = try double("rope.scaling.yarn_attn_factor", 1)
      }
      // DeepSeek's `mscale_all_dim`, stored as a tenth (llama.cpp takes `mscale` equal to it).
      if m["\(name).rope.scaling.yarn_log_multiplier"] != nil {
        let all = try double("rope.scaling.yarn_log_multiplier", 0) / 0.1
        (yarn["mscale"], yarn["mscale_all_dim"]) = (all, all)
      }
      guard try double("rope.scaling.yarn_ext_factor", 1) == 1 else {
        throw GGUFError.unsupportedModelFeature("a YaRN extrapolation factor other than 1", supported: "1")
      }
      config["rope_parameters"] = yarn
    }
    if let window = m["\(name).attention.sliding_window"]?.integer { config["sliding_window"] = window }
    if name == "gpt-oss" {
      (config["swiglu_alpha"], config["swiglu_limit"]) = (1.702, 7.0)
      config["layer_types"] = (0..<(try int("block_count"))).map {
        $0 % 2 == 0 ? "sliding_attention" : "full_attention"
      }
    }
    // Biases are read where the first layer has them, as the converter writes them.
    config["attention_bias"] = file.tensors["blk.0.attn_q.bias"] != nil
    config["mlp_bias"] = file.tensors["blk.0.ffn_gate.bias"] != nil
    if m["\(name).attention.clamp_kqv"] != nil { config["clip_qkv"] = try double("attention.clamp_kqv", 0) }
    for (key, field) in [("bos_token_id", "bos_token_id"), ("eos_token_id", "eos_token_id")] {
      if let id = m["tokenizer.ggml.\(key)"]?.integer { config[field] = id }
    }
    if experts > 0 {
      config["model_type"] = modelTypes.moe
      config["num_experts_per_tok"] = try int("expert_used_count")
      let countField = [
        "mixtral": "num_local_experts", "gpt_oss": "num_local_experts", "glm4_moe": "n_routed_experts",
        "deepseek_v2": "n_routed_experts",
      ]
      config[countField[modelTypes.moe] ?? "num_experts"] = experts
      config["moe_intermediate_size"] =
        try m["\(name).expert_feed_forward_length"]?.integer ?? int("feed_forward_length")
      // gpt-oss's `intermediate_size` is its experts' width.
      if name == "gpt-oss" { config["intermediate_size"] = config["moe_intermediate_size"] }
      config["norm_topk_prob"] = normalizesTopK
      config["decoder_sparse_step"] = 1
      config["mlp_only_layers"] = [Int]()
      if let shared = m["\(name).expert_shared_feed_forward_length"]?.integer {
        config["shared_expert_intermediate_size"] = shared
      }
      if name == "glm4moe" || name == "deepseek2" { try deepSeekRouting(file, into: &config) }
    } else if let dense = modelTypes.dense {
      config["model_type"] = dense
    } else {
      throw GGUFError.missingMetadata(key: "\(name).expert_count", expected: "a positive number of experts")
    }
    return config
  }

  /// The layers the model runs: `block_count` less the multi-token-prediction layers
  /// (`nextn_predict_layers`, GLM-4.5's), whose tensors are left unread.
  ///
  /// - Throws: `GGUFError.missingMetadata` without a block count, or with more prediction
  ///   layers than blocks.
  func mainLayerCount(of file: GGUFFile) throws -> Int {
    let blocks = file.metadata["\(name).block_count"]?.integer ?? -1
    let predicting = file.metadata["\(name).nextn_predict_layers"]?.integer ?? 0
    guard blocks > 0, (0..<blocks).contains(predicting) else {
      throw GGUFError.missingMetadata(
        key: "\(name).block_count", expected: "a positive count above nextn_predict_layers (\(predicting))")
    }
    return blocks - predicting
  }

  /// DeepSeek's routing as GLM-4.5 and DeepSeek-V2/V3 files state it: softmax
  /// (`expert_gating_func` 1, DeepSeek-V2's, llama.cpp's default for `deepseek2`) or sigmoid
  /// gates (2, DeepSeek-V3's and GLM-4.5's, with a selection bias `exp_probs_b`),
  /// `expert_weights_norm`, `expert_weights_scale`, groups (`expert_group_count`,
  /// `expert_group_used_count`; one without them), shared experts (`expert_shared_count`) and
  /// leading dense layers (`leading_dense_block_count`); per-head q/k norms where the file has
  /// them. A `deepseek2` file with sigmoid gates is DeepSeek-V3; DeepSeek-V2's groups are scored
  /// by their best expert as the model was trained (llama.cpp scores every architecture's groups
  /// by their best two).
  func deepSeekRouting(_ file: GGUFFile, into config: inout [String: Any]) throws {
    let m = file.metadata
    func int(_ key: String, _ fallback: Int) throws -> Int {
      guard let value = m["\(name).\(key)"] else { return fallback }
      guard let int = value.integer, int >= 0 else {
        throw GGUFError.missingMetadata(key: "\(name).\(key)", expected: "a whole number")
      }
      return int
    }
    let gating = try int("expert_gating_func", name == "deepseek2" ? 1 : 2)
    guard gating == 2 || (gating == 1 && name == "deepseek2") else {
      throw GGUFError.unsupportedModelFeature(
        "expert_gating_func \(gating)",
        supported: name == "deepseek2" ? "1 (softmax), 2 (sigmoid)" : "2 (sigmoid) for \(name)")
    }
    if name == "deepseek2" { config["model_type"] = gating == 2 ? "deepseek_v3" : "deepseek_v2" }
    config["n_shared_experts"] = try int("expert_shared_count", 0)
    config["first_k_dense_replace"] = try int("leading_dense_block_count", 0)
    config["n_group"] = try int("expert_group_count", 1)
    config["topk_group"] = try int("expert_group_used_count", 1)
    switch m["\(name).expert_weights_norm"] {
    case nil: config["norm_topk_prob"] = false
    case .bool(let flag)?: config["norm_topk_prob"] = flag
    default: throw GGUFError.missingMetadata(key: "\(name).expert_weights_norm", expected: "a boolean")
    }
    switch m["\(name).expert_weights_scale"] {
    case nil: config["routed_scaling_factor"] = 1.0
    case .float(let scale)? where scale.isFinite && scale > 0: config["routed_scaling_factor"] = scale
    default:
      throw GGUFError.missingMetadata(key: "\(name).expert_weights_scale", expected: "a positive number")
    }
    config["use_qk_norm"] = file.tensors["blk.0.attn_q_norm.weight"] != nil
    config["topk_method"] = (config["n_group"] as! Int) > 1 ? "group_limited_greedy" : "greedy"
  }

  /// DeepSeek's multi-head latent attention as a `deepseek2` file states it: the query's rank
  /// (`attention.q_lora_rank`, none without it), the key-value rank (`attention.kv_lora_rank`),
  /// the rotated features (`rope.dimension_count`) and each head's key and value sizes
  /// (`attention.key_length_mla`, `value_length_mla`; older files put them in `key_length` and
  /// `value_length`, which newer ones give the absorbed sizes).
  func latentAttention(_ file: GGUFFile, into config: inout [String: Any]) throws {
    let m = file.metadata
    func int(_ key: String, _ fallback: String? = nil) throws -> Int {
      guard let value = m["\(name).\(key)"]?.integer ?? fallback.flatMap({ m["\(name).\($0)"]?.integer }),
        value > 0
      else {
        throw GGUFError.missingMetadata(key: "\(name).\(key)", expected: "a positive whole number")
      }
      return value
    }
    let rotated = try int("rope.dimension_count")
    let key = try int("attention.key_length_mla", "attention.key_length")
    guard key > rotated, rotated % 2 == 0 else {
      throw GGUFError.missingMetadata(
        key: "\(name).attention.key_length_mla", expected: "more than the \(rotated) rotated features")
    }
    config["q_lora_rank"] =
      m["\(name).attention.q_lora_rank"] == nil ? NSNull() : try int("attention.q_lora_rank")
    config["kv_lora_rank"] = try int("attention.kv_lora_rank")
    config["qk_rope_head_dim"] = rotated
    config["qk_nope_head_dim"] = key - rotated
    config["v_head_dim"] = try int("attention.value_length_mla", "attention.value_length")
    config["head_dim"] = rotated
    config["num_key_value_heads"] = config["num_attention_heads"]
  }

  /// The Hugging Face names (with the expert each is, for a stacked tensor of `experts`) that
  /// the GGUF tensor `gguf` holds for `family`, or `[]` for a tensor the family does not read.
  func huggingFaceNames(of gguf: String, family: any ModelFamily, experts: Int) -> [(
    name: String, slice: Int?
  )] {
    switch gguf {
    case "token_embd.weight": return [("model.embed_tokens.weight", nil)]
    case "output_norm.weight": return [("model.\(family.normNames.final).weight", nil)]
    case "output.weight": return [("lm_head.weight", nil)]
    default: break
    }
    let parts = gguf.split(separator: ".", maxSplits: 2).map(String.init)
    guard parts.count == 3, parts[0] == "blk", let layer = Int(parts[1]) else { return [] }
    let (block, ffn) = ("model.layers.\(layer)", family.feedForwardPrefix(layer: layer))
    let projections = family.expertProjectionNames
    let (tensor, kind) = (String(parts[2].prefix { $0 != "." }), String(parts[2].drop { $0 != "." }))
    let attention = [
      "attn_q": "q_proj", "attn_k": "k_proj", "attn_v": "v_proj", "attn_output": "o_proj",
      "attn_q_norm": "q_norm", "attn_k_norm": "k_norm",
    ]
    if let projection = attention[tensor] { return [("\(block).self_attn.\(projection)\(kind)", nil)] }
    let latent = [
      "attn_q_a": "q_a_proj", "attn_q_a_norm": "q_a_layernorm", "attn_q_b": "q_b_proj",
      "attn_kv_a_mqa": "kv_a_proj_with_mqa", "attn_kv_a_norm": "kv_a_layernorm", "attn_kv_b": "kv_b_proj",
    ]
    if name == "deepseek2", let projection = latent[tensor] {
      return [("\(block).self_attn.\(projection)\(kind)", nil)]
    }
    if tensor == "attn_sinks" && kind == ".weight" { return [("\(block).self_attn.sinks", nil)] }
    if tensor == "exp_probs_b" && kind == ".bias" {
      let gate = family.routerGateName(prefix: ffn).dropLast(".weight".count)
      return [("\(gate).e_score_correction_bias", nil)]
    }
    let stacked = [
      "ffn_gate_exps": projections.gate, "ffn_up_exps": projections.up, "ffn_down_exps": projections.down,
    ]
    if let projection = stacked[tensor] {
      return (0..<experts).map { ("\(ffn).experts.\($0).\(projection)\(kind)", $0) }
    }
    let shared = "\(ffn).\(family.sharedExpertName)"
    let single = [
      "attn_norm": "\(block).\(family.normNames.attention)",
      feedForwardNorm: "\(block).\(family.normNames.feedForward)",
      "ffn_gate_inp": String(family.routerGateName(prefix: ffn).dropLast(".weight".count)),
      "ffn_gate": "\(ffn).gate_proj", "ffn_up": "\(ffn).up_proj", "ffn_down": "\(ffn).down_proj",
      "ffn_gate_shexp": "\(shared).gate_proj", "ffn_up_shexp": "\(shared).up_proj",
      "ffn_down_shexp": "\(shared).down_proj", "ffn_gate_inp_shexp": "\(shared)_gate",
    ]
    return single[tensor].map { [("\($0)\(kind)", nil)] } ?? []
  }
}
