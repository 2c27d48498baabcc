import Foundation

/// Builds an `Architecture` from a Hugging Face `config.json`, reading the fields the
/// `transformers` modeling code reads, with its defaults.
///
/// Supported `model_type`s: `llama`, `mistral`, `mixtral`, `qwen2_moe`, `qwen3_moe`,
/// `deepseek` (DeepSeek-MoE 16B), `deepseek_v2`, `deepseek_v3`, `olmoe`, `glm4_moe` (GLM-4.5:
/// DeepSeek-V3's MoE layout and router, grouped-query attention with q/k/v biases when
/// `attention_bias`, per-head q/k norms when `use_qk_norm`), `dots1` (the same layout with
/// per-head q/k norms), and the families of `HuggingFaceConfig+Families`: `llama4`,
/// `llama4_text`, `gpt_oss`, `ernie4_5_moe`, `phimoe`, `granitemoe`, `dbrx`,
/// `hunyuan_v1_moe`, `qwen3_next`, `jamba`, `minimax`, `deepseek_v32`, `granitemoehybrid`.
/// A remote-code `model_type` resolves through `architectures` (`modelType(of:)`); anything
/// else is `ConfigError.unsupportedModelType` naming both fields and listing these — never a
/// guess. Missing, mistyped,
/// out-of-range and mutually inconsistent fields are typed errors naming the field.
///
/// What is counted follows `Architecture`: DeepSeek-V3's multi-token-prediction layers
/// (`num_nextn_predict_layers`) go to `multiTokenPredictionModules`, outside the main
/// model's totals. Sliding-window attention (Mistral) is not modelled: attention FLOPs at
/// contexts beyond the window are overestimated.
public enum HuggingFaceConfig {
  /// The `model_type` values the importer understands.
  public static let supportedModelTypes = [
    "llama", "mistral", "mixtral", "qwen2_moe", "qwen3_moe", "deepseek", "deepseek_v2", "deepseek_v3",
    "olmoe", "glm4_moe", "llama4", "llama4_text", "gpt_oss", "ernie4_5_moe", "phimoe", "granitemoe", "dbrx",
    "hunyuan_v1_moe", "dots1", "qwen3_next", "jamba", "minimax", "deepseek_v32", "granitemoehybrid",
  ]

  /// The supported families by the `transformers` class names configs list in `architectures`,
  /// for models published with remote code under their own `model_type` (Kimi-K2's `kimi_k2`
  /// is `DeepseekV3ForCausalLM`, DeepSeek-MoE 16B's `deepseek` is `DeepseekForCausalLM`).
  public static let modelTypesByArchitecture: [String: String] = [
    "LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral", "MixtralForCausalLM": "mixtral",
    "Qwen2MoeForCausalLM": "qwen2_moe", "Qwen3MoeForCausalLM": "qwen3_moe", "DeepseekForCausalLM": "deepseek",
    "DeepseekV2ForCausalLM": "deepseek_v2", "DeepseekV3ForCausalLM": "deepseek_v3",
    "OlmoeForCausalLM": "olmoe",
    "Glm4MoeForCausalLM": "glm4_moe", "Llama4ForConditionalGeneration": "llama4",
    "Llama4ForCausalLM": "llama4_text",
    "GptOssForCausalLM": "gpt_oss", "Ernie4_5_MoeForCausalLM": "ernie4_5_moe", "PhimoeForCausalLM": "phimoe",
    "GraniteMoeForCausalLM": "granitemoe", "DbrxForCausalLM": "dbrx",
    "HunYuanMoEV1ForCausalLM": "hunyuan_v1_moe",
    "Dots1ForCausalLM": "dots1", "Qwen3NextForCausalLM": "qwen3_next", "JambaForCausalLM": "jamba",
    "MiniMaxForCausalLM": "minimax", "DeepseekV32ForCausalLM": "deepseek_v32",
    "GraniteMoeHybridForCausalLM": "granitemoehybrid",
  ]

  /// The family `config` belongs to among `supported`: its `model_type` when that is one of
  /// them, otherwise the first of its `architectures` whose class is (a remote-code
  /// `model_type` with a standard architecture).
  ///
  /// - Throws: `ConfigError.missingField("model_type")`, or `.unsupportedModelType` naming the
  ///   `model_type`, the `architectures` and the supported list.
  public static func modelType(of config: ConfigFields, supported: [String] = supportedModelTypes) throws
    -> String
  {
    guard let type = try config.string("model_type") else { throw ConfigError.missingField("model_type") }
    if supported.contains(type) { return type }
    let classes = try config.strings("architectures") ?? []
    if let resolved = classes.lazy.compactMap({ modelTypesByArchitecture[$0] }).first(
      where: supported.contains)
    {
      return resolved
    }
    throw ConfigError.unsupportedModelType(type, architectures: classes, supported: supported)
  }

  /// Reads and imports the `config.json` at `path`.
  public static func architecture(contentsOfFile path: String) throws -> Architecture {
    let data: Data
    do {
      data = try InputFile.contents(of: path)
    } catch {
      throw ConfigError.unreadableFile(path: path, reason: "\(error)")
    }
    let name = URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent
    return try architecture(json: data, name: name.isEmpty ? nil : name)
  }

  /// Imports a `config.json` held in `json`; `name` labels it (default: `model_type`).
  public static func architecture(json: Data, name: String? = nil) throws -> Architecture {
    let config = try ConfigFields(json: json)
    let type = try modelType(of: config)
    var architecture = try build(type: type, config: config, name: name ?? type)
    architecture.unmodelledFields = try unmodelledFields(type: type, config: config)
    return architecture
  }

  /// The fields of a config that change what a deployment costs but that the accounting
  /// does not follow, each with what the figures assume instead.
  static func unmodelledFields(type: String, config c: ConfigFields) throws -> [String] {
    var notes: [String] = []
    if let quantization = try c.nested("quantization_config") {
      let method = (try? quantization.string("quant_method")) ?? nil
      notes.append(
        "quantization_config (\(method ?? "unnamed")): weight bytes follow the chosen data type, not the "
          + "checkpoint's quantization")
    }
    let slidingTypes = ["mistral", "mixtral", "qwen2_moe", "qwen3_moe"]
    if slidingTypes.contains(type), (try c.optionalInt("sliding_window", minimum: 0) ?? 0) > 0,
      try c.bool("use_sliding_window", fallback: type == "mistral" || type == "mixtral")
    {
      notes.append("sliding_window: every layer is costed attending the whole context")
    }
    return notes
  }

  static func build(type: String, config c: ConfigFields, name: String) throws -> Architecture {
    switch type {
    case "llama4", "llama4_text": return try llama4(c, name: name)
    case "gpt_oss": return try gptOSS(c, name: name)
    case "ernie4_5_moe": return try ernie45(c, name: name)
    case "phimoe": return try phiMoE(c, name: name)
    case "granitemoe": return try graniteMoE(c, name: name)
    case "dbrx": return try dbrx(c, name: name)
    case "hunyuan_v1_moe": return try hunyuan(c, name: name)
    case "qwen3_next": return try qwen3Next(c, name: name)
    case "jamba": return try jamba(c, name: name)
    case "minimax": return try miniMax(c, name: name)
    case "granitemoehybrid": return try graniteHybrid(c, name: name)
    default: break
    }
    let vocabulary = try c.int("vocab_size")
    let width = try c.int("hidden_size")
    let layers = try c.int("num_hidden_layers")
    let tied = try c.bool("tie_word_embeddings", fallback: false)
    let attention = try Self.attention(type: type, config: c, width: width)
    let denseHidden = try c.int("intermediate_size")
    let mlpBias = try c.bool("mlp_bias", fallback: false)
    let dense = FeedForwardShape(hidden: denseHidden, bias: mlpBias)
    let architecture: (MoEShape?, [Bool]?, Int)
    switch type {
    case "llama", "mistral":
      architecture = (nil, nil, 0)
    case "mixtral":
      let moe = try Self.moe(c, experts: "num_local_experts", expertHidden: "intermediate_size")
      architecture = (moe, nil, 0)
    case "olmoe":
      let moe = try Self.moe(c, experts: "num_experts", expertHidden: "intermediate_size")
      architecture = (moe, nil, 0)
    case "qwen2_moe", "qwen3_moe":
      var moe = try Self.moe(c, experts: "num_experts", expertHidden: "moe_intermediate_size")
      if type == "qwen2_moe", let shared = try c.optionalInt("shared_expert_intermediate_size", minimum: 0),
        shared > 0
      {
        moe.sharedExperts = 1
        moe.sharedExpert = FeedForwardShape(hidden: shared)
        moe.sharedExpertGate = true
      }
      let step = try c.int("decoder_sparse_step", fallback: 1)
      let mlpOnly = Set(try c.indices("mlp_only_layers", below: layers))
      let flags = (0..<layers).map { ($0 + 1) % step == 0 && !mlpOnly.contains($0) }
      architecture = (moe, flags, 0)
    default:  // the DeepSeek family, and GLM-4.5 and dots.llm1, which share its MoE layout
      guard c.has("n_routed_experts") else {
        architecture = (nil, nil, 0)
        break
      }
      var moe = try Self.moe(c, experts: "n_routed_experts", expertHidden: "moe_intermediate_size")
      moe.sharedExperts = try c.int("n_shared_experts", minimum: 0, fallback: 0)
      moe.routerBias = ["deepseek_v3", "deepseek_v32", "glm4_moe", "dots1"].contains(type)
      let firstDense = try c.int("first_k_dense_replace", minimum: 0, fallback: 0)
      guard firstDense <= layers else {
        throw ConfigError.outOfRange(
          field: "first_k_dense_replace", value: "\(firstDense)",
          requirement: "at most num_hidden_layers (\(layers))")
      }
      let frequency = try c.int("moe_layer_freq", fallback: 1)
      let flags = (0..<layers).map { $0 >= firstDense && $0 % frequency == 0 }
      let mtp =
        ["deepseek_v3", "deepseek_v32", "glm4_moe"].contains(type)
        ? try c.int("num_nextn_predict_layers", minimum: 0, fallback: 0) : 0
      if type != "deepseek", let groups = try c.optionalInt("n_group") {
        let kept = try c.int("topk_group", fallback: groups)
        guard moe.routedExperts % groups == 0, kept <= groups else {
          throw ConfigError.inconsistent(
            fields: ["n_routed_experts", "n_group", "topk_group"],
            reason: "\(moe.routedExperts) experts in \(groups) equal groups, keeping \(kept)")
        }
        guard moe.topK <= moe.routedExperts / groups * kept else {
          throw ConfigError.inconsistent(
            fields: ["num_experts_per_tok", "n_group", "topk_group"],
            reason: "\(moe.topK) experts per token cannot come from \(kept) of \(groups) groups")
        }
      }
      architecture = (moe, flags, mtp)
    }
    let (moe, flags, mtp) = architecture
    return Architecture(
      name: name, vocabularySize: vocabulary, width: width, layers: layers, attention: attention,
      denseFeedForward: dense, moe: moe, isMoELayer: flags, tiedEmbeddings: tied,
      multiTokenPredictionModules: mtp)
  }

  /// The attention fields of `type`.
  static func attention(type: String, config c: ConfigFields, width: Int) throws -> AttentionKind {
    let heads = try c.int("num_attention_heads")
    if ["deepseek_v2", "deepseek_v3", "deepseek_v32"].contains(type) {
      let latent = AttentionKind.latent(
        heads: heads, qLoRARank: try c.optionalInt("q_lora_rank"), kvLoRARank: try c.int("kv_lora_rank"),
        nopeHeadDim: try c.int("qk_nope_head_dim"), ropeHeadDim: try c.int("qk_rope_head_dim", minimum: 0),
        vHeadDim: try c.int("v_head_dim"))
      guard type == "deepseek_v32" else { return latent }
      // DeepSeek-V3.2's indexer reads the query latent.
      return .sparse(
        latent,
        indexer: SparseIndexer(
          heads: try c.int("index_n_heads", fallback: 64),
          headDim: try c.int("index_head_dim", fallback: 128),
          topK: try c.int("index_topk", fallback: 2048), queryRank: try c.int("q_lora_rank")))
    }
    // Qwen2-MoE biases q/k/v (`qkv_bias`); GLM-4.5's `attention_bias` is on q/k/v only;
    // Llama's, OLMoE's and Qwen3's on all four projections.
    let bias =
      type == "qwen2_moe"
      ? try c.bool("qkv_bias", fallback: true) : try c.bool("attention_bias", fallback: false)
    let glmNorm = type == "glm4_moe" ? try c.bool("use_qk_norm", fallback: false) : false
    let qkNorm: AttentionKind.QKNorm =
      type == "qwen3_moe" || type == "dots1" || glmNorm ? .perHead : type == "olmoe" ? .perProjection : .none
    return try grouped(
      c, width: width, bias: bias, outputBias: ["llama", "olmoe", "qwen3_moe", "dots1"].contains(type),
      qkNorm: qkNorm)
  }

  /// The routed-expert fields, named per model family.
  ///
  /// `transformers` 5 writes Qwen3-MoE's `num_experts` as `num_local_experts`; either is read.
  static func moe(_ c: ConfigFields, experts: String, expertHidden: String) throws -> MoEShape {
    let experts =
      experts == "num_experts" && !c.has(experts) && c.has("num_local_experts")
      ? "num_local_experts" : experts
    let count = try c.int(experts)
    let k = try c.int("num_experts_per_tok")
    guard k <= count else {
      throw ConfigError.inconsistent(
        fields: ["num_experts_per_tok", experts], reason: "\(k) experts per token out of \(count)")
    }
    return MoEShape(routedExperts: count, topK: k, expert: FeedForwardShape(hidden: try c.int(expertHidden)))
  }
}
