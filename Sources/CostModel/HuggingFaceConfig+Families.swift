// The 2024–2025 families whose layers are not all alike: Llama 4 (chunked beside global
// attention, interleaved MoE layers), gpt-oss (sliding windows, sinks, biased experts),
// ERNIE 4.5 (a MoE band of layers) and Phi-3.5-MoE (LayerNorms, biased head) — each read
// as its `transformers` 5 modeling code builds it.

extension HuggingFaceConfig {
  /// Llama 4 (`llama4_text`, or the text tower of a multimodal `llama4` config's
  /// `text_config`; the vision tower is not costed and the name says so): MoE layers at
  /// `moe_layers` (else every `interleave_moe_layer_step`-th), each with one shared
  /// expert as wide as a routed one; dense layers of `intermediate_size_mlp`; layers of
  /// `layer_types` "chunked_attention" attend within chunks of `attention_chunk_size`.
  /// The q/k norm is a weightless L2 norm.
  static func llama4(_ config: ConfigFields, name: String) throws -> Architecture {
    let multimodal = try config.string("model_type") == "llama4"
    guard let c = multimodal ? try config.nested("text_config") : config else {
      throw ConfigError.missingField("text_config")
    }
    let layers = try c.int("num_hidden_layers")
    let width = try c.int("hidden_size")
    let attention = try grouped(
      c, width: width, bias: try c.bool("attention_bias", fallback: false), outputBias: true)
    var moe = try Self.moe(c, experts: "num_local_experts", expertHidden: "intermediate_size")
    moe.sharedExperts = 1
    let step = try c.int("interleave_moe_layer_step", fallback: 1)
    let listed = try c.indices("moe_layers", below: layers)
    let moeLayers = c.has("moe_layers") ? Set(listed) : Set(stride(from: step - 1, to: layers, by: step))
    let chunk = try c.optionalInt("attention_chunk_size")
    let types = try layerTypes(c, layers: layers, default: chunk == nil ? "full_attention" : "llama4")
    let kinds = try zip(0..<layers, types).map { i, type -> AttentionKind in
      switch type {
      case "full_attention": return attention
      case "chunked_attention":
        guard let chunk else { throw ConfigError.missingField("attention_chunk_size") }
        return .windowed(attention, window: chunk)
      case "llama4":  // transformers' default: every no_rope_layer_interval-th layer global
        let interval = try c.int("no_rope_layer_interval", fallback: 4)
        return (i + 1) % interval == 0 ? attention : .windowed(attention, window: chunk!)
      default: throw unsupportedLayerType(type, supported: "full_attention, chunked_attention")
      }
    }
    var architecture = Architecture(
      name: multimodal ? name + " (text tower)" : name,
      vocabularySize: try c.int("vocab_size"), width: width, layers: layers, attention: kinds[0],
      attentionLayers: kinds, denseFeedForward: FeedForwardShape(hidden: try c.int("intermediate_size_mlp")),
      moe: moe, isMoELayer: (0..<layers).map(moeLayers.contains),
      tiedEmbeddings: try c.bool("tie_word_embeddings", fallback: false))
    if multimodal, let vision = try config.nested("vision_config") {
      architecture.visionTowerParameters = try llama4Vision(vision, textWidth: width)
    }
    return architecture
  }

  /// Llama 4's vision tower and projector (`Llama4VisionModel` and
  /// `Llama4MultiModalProjector`): a bias-free patch embedding `3·patch² → h`, a class
  /// embedding and one positional embedding per patch and the class token, LayerNorms
  /// before and after, `num_hidden_layers` encoder layers (q/k/v/o `h → h` with biases, two
  /// LayerNorms, `fc1` `h → intermediate` and `fc2` back, with biases), the pixel-shuffle
  /// adapter's bias-free MLP `intermediate → projector_input_dim → projector_output_dim`,
  /// and the projector `vision_output_dim → d` (bias when `multi_modal_projector_bias`).
  static func llama4Vision(_ v: ConfigFields, textWidth d: Int) throws -> Int {
    let h = try v.int("hidden_size", fallback: 768)
    let inter = try v.int("intermediate_size", fallback: 5632)
    let layers = try v.int("num_hidden_layers", fallback: 34)
    let patch = try v.int("patch_size", fallback: 14)
    let image = try v.int("image_size", fallback: 448)
    let channels = try v.int("num_channels", fallback: 3)
    let (adapterIn, adapterOut) = (
      try v.int("projector_input_dim", fallback: 4096), try v.int("projector_output_dim", fallback: 4096)
    )
    let output = try v.int("vision_output_dim", fallback: 7680)
    let patches = (image / patch) * (image / patch)
    let embeddings = channels * patch * patch * h + h + (patches + 1) * h + 4 * h
    let layer = 4 * (h * h + h) + 4 * h + (h * inter + inter) + (inter * h + h)
    let adapter = inter * adapterIn + adapterIn * adapterOut
    let projector = output * d + (try v.bool("multi_modal_projector_bias", fallback: false) ? d : 0)
    return embeddings + layers * layer + adapter + projector
  }

  /// gpt-oss: biases on all four attention projections, one learned sink per head,
  /// "sliding_attention" layers within `sliding_window`, every layer MoE with biased
  /// experts (`gate_up_proj_bias`, `down_proj_bias`) and a biased router.
  static func gptOSS(_ c: ConfigFields, name: String) throws -> Architecture {
    let layers = try c.int("num_hidden_layers")
    let width = try c.int("hidden_size")
    let attention = AttentionKind.withSinks(
      try grouped(c, width: width, bias: try c.bool("attention_bias", fallback: true), outputBias: true))
    let window = try c.int("sliding_window", fallback: 128)
    let kinds = try layerTypes(c, layers: layers, default: "gpt_oss").enumerated().map {
      i, type -> AttentionKind in
      switch type {
      case "full_attention": return attention
      case "sliding_attention": return .windowed(attention, window: window)
      case "gpt_oss": return i % 2 == 0 ? .windowed(attention, window: window) : attention
      default: throw unsupportedLayerType(type, supported: "full_attention, sliding_attention")
      }
    }
    var moe = try Self.moe(c, experts: "num_local_experts", expertHidden: "intermediate_size")
    moe.expert.bias = true
    moe.routerBias = true
    return Architecture(
      name: name, vocabularySize: try c.int("vocab_size"), width: width, layers: layers, attention: kinds[0],
      attentionLayers: kinds, denseFeedForward: moe.expert, moe: moe,
      tiedEmbeddings: try c.bool("tie_word_embeddings", fallback: false))
  }

  /// ERNIE 4.5 MoE: MoE layers `i` with `(i + 1) % moe_layer_interval == 0` and
  /// `moe_layer_start_index ≤ i ≤ moe_layer_end_index` (defaults 1 and −1, the last layer, as in
  /// `transformers`), `moe_num_shared_experts` shared
  /// experts fused into one network of that many times `moe_intermediate_size`, the
  /// router's correction bias (`moe_statics`), `use_bias` on every projection and the
  /// head, and a tied head by default.
  static func ernie45(_ c: ConfigFields, name: String) throws -> Architecture {
    let layers = try c.int("num_hidden_layers")
    let width = try c.int("hidden_size")
    let bias = try c.bool("use_bias", fallback: false)
    let attention = try grouped(c, width: width, bias: bias, outputBias: true)
    let experts = try c.int("moe_num_experts")
    let k = try c.int("moe_k")
    guard k <= experts else {
      throw ConfigError.inconsistent(
        fields: ["moe_k", "moe_num_experts"], reason: "\(k) experts per token of \(experts)")
    }
    let expertHidden = try c.int("moe_intermediate_size")
    let shared = try c.int("moe_num_shared_experts", minimum: 0, fallback: 0)
    let moe = MoEShape(
      routedExperts: experts, topK: k, expert: FeedForwardShape(hidden: expertHidden),
      sharedExperts: shared > 0 ? 1 : 0,
      sharedExpert: FeedForwardShape(hidden: expertHidden * shared, bias: bias),
      routerBias: true)
    let start = try c.int("moe_layer_start_index", minimum: 0, fallback: 1)
    let lastIndex = try c.int("moe_layer_end_index", minimum: -1, fallback: -1)
    let end = lastIndex == -1 ? layers - 1 : lastIndex
    let interval = try c.int("moe_layer_interval", fallback: 1)
    return Architecture(
      name: name, vocabularySize: try c.int("vocab_size"), width: width, layers: layers, attention: attention,
      denseFeedForward: FeedForwardShape(hidden: try c.int("intermediate_size"), bias: bias), moe: moe,
      isMoELayer: (0..<layers).map { ($0 + 1) % interval == 0 && $0 >= start && $0 <= end },
      tiedEmbeddings: try c.bool("tie_word_embeddings", fallback: true), outputHeadBias: bias)
  }

  /// Phi-3.5-MoE: Mixtral's layout with LayerNorms (gain and bias), `attention_bias` on
  /// all four projections, an optional head bias (`lm_head_bias`) and an optional sliding
  /// window on every layer.
  static func phiMoE(_ c: ConfigFields, name: String) throws -> Architecture {
    let layers = try c.int("num_hidden_layers")
    let width = try c.int("hidden_size")
    let full = try grouped(
      c, width: width, bias: try c.bool("attention_bias", fallback: false), outputBias: true)
    let attention =
      try c.optionalInt("sliding_window").map { AttentionKind.windowed(full, window: $0) } ?? full
    let moe = try Self.moe(c, experts: "num_local_experts", expertHidden: "intermediate_size")
    return Architecture(
      name: name, vocabularySize: try c.int("vocab_size"), width: width, layers: layers, attention: attention,
      denseFeedForward: moe.expert, moe: moe, normKind: .layer,
      tiedEmbeddings: try c.bool("tie_word_embeddings", fallback: false),
      outputHeadBias: try c.bool("lm_head_bias", fallback: false))
  }

  /// Granite MoE: Mixtral's layout, `attention_bias` on all four projections; its scaling
  /// multipliers (`embedding_multiplier`, …) hold no weights.
  static func graniteMoE(_ c: ConfigFields, name: String) throws -> Architecture {
    let width = try c.int("hidden_size")
    let attention = try grouped(
      c, width: width, bias: try c.bool("attention_bias", fallback: false), outputBias: true)
    let moe = try Self.moe(c, experts: "num_local_experts", expertHidden: "intermediate_size")
    return Architecture(
      name: name, vocabularySize: try c.int("vocab_size"), width: width,
      layers: try c.int("num_hidden_layers"),
      attention: attention, denseFeedForward: moe.expert, moe: moe,
      tiedEmbeddings: try c.bool("tie_word_embeddings", fallback: false))
  }

  /// DBRX: `d_model`, `n_heads`, `n_layers`, with `attn_config.kv_n_heads` (one fused,
  /// bias-free `Wqkv`) and `ffn_config`'s `moe_num_experts`, `moe_top_k` and
  /// `ffn_hidden_size`; its LayerNorms have no bias (`d` weights each, as RMSNorm).
  static func dbrx(_ c: ConfigFields, name: String) throws -> Architecture {
    let width = try c.int("d_model")
    let heads = try c.int("n_heads")
    guard width % heads == 0 else {
      throw ConfigError.inconsistent(
        fields: ["d_model", "n_heads"], reason: "\(width) must divide into \(heads) heads")
    }
    let attentionConfig = try c.nested("attn_config") ?? ConfigFields(fields: [:])
    let kvHeads = try attentionConfig.int("kv_n_heads", fallback: 1)
    guard heads % kvHeads == 0 else {
      throw ConfigError.inconsistent(
        fields: ["n_heads", "attn_config.kv_n_heads"],
        reason: "\(heads) heads cannot share \(kvHeads) KV heads")
    }
    guard let ffn = try c.nested("ffn_config") else { throw ConfigError.missingField("ffn_config") }
    let experts = try ffn.int("moe_num_experts", fallback: 4)
    let k = try ffn.int("moe_top_k", fallback: 1)
    guard k <= experts else {
      throw ConfigError.inconsistent(
        fields: ["ffn_config.moe_top_k", "ffn_config.moe_num_experts"],
        reason: "\(k) experts per token of \(experts)")
    }
    let moe = MoEShape(
      routedExperts: experts, topK: k,
      expert: FeedForwardShape(hidden: try ffn.int("ffn_hidden_size", fallback: 3584)))
    return Architecture(
      name: name, vocabularySize: try c.int("vocab_size"), width: width, layers: try c.int("n_layers"),
      attention: .gqa(heads: heads, kvHeads: kvHeads, headDim: width / heads), denseFeedForward: moe.expert,
      moe: moe,
      tiedEmbeddings: try c.bool("tie_word_embeddings", fallback: false))
  }

  /// Hunyuan-MoE (`hunyuan_v1_moe`): per-head q/k RMSNorms, every layer MoE with
  /// `num_experts` experts (`moe_topk` per token) and one shared network, all of
  /// `intermediate_size`. Per-layer lists of expert counts are refused by name.
  static func hunyuan(_ c: ConfigFields, name: String) throws -> Architecture {
    let width = try c.int("hidden_size")
    let attention = try grouped(
      c, width: width, bias: try c.bool("attention_bias", fallback: false), outputBias: true, qkNorm: .perHead
    )
    let experts = try c.int("num_experts")
    let k = try c.int("moe_topk")
    guard k <= experts else {
      throw ConfigError.inconsistent(
        fields: ["moe_topk", "num_experts"], reason: "\(k) experts per token of \(experts)")
    }
    let expert = FeedForwardShape(hidden: try c.int("intermediate_size"))
    let moe = MoEShape(routedExperts: experts, topK: k, expert: expert, sharedExperts: 1)
    return Architecture(
      name: name, vocabularySize: try c.int("vocab_size"), width: width,
      layers: try c.int("num_hidden_layers"),
      attention: attention, denseFeedForward: expert, moe: moe,
      tiedEmbeddings: try c.bool("tie_word_embeddings", fallback: false))
  }

  /// Qwen3-Next: "linear_attention" layers of Gated DeltaNet (`linear_num_key_heads` of
  /// `linear_key_head_dim`, `linear_num_value_heads` of `linear_value_head_dim`,
  /// `linear_conv_kernel_dim`) beside "full_attention" layers of gated GQA with per-head
  /// q/k norms; Qwen2-MoE's MoE layers (a gated shared expert, `decoder_sparse_step`,
  /// `mlp_only_layers`).
  static func qwen3Next(_ c: ConfigFields, name: String) throws -> Architecture {
    let layers = try c.int("num_hidden_layers")
    let width = try c.int("hidden_size")
    let full = AttentionKind.outputGated(
      try grouped(
        c, width: width, bias: try c.bool("attention_bias", fallback: false), outputBias: true,
        qkNorm: .perHead))
    let linear = AttentionKind.recurrent(
      .gatedDeltaNet(
        keyHeads: try c.int("linear_num_key_heads"), keyHeadDim: try c.int("linear_key_head_dim"),
        valueHeads: try c.int("linear_num_value_heads"), valueHeadDim: try c.int("linear_value_head_dim"),
        convKernel: try c.int("linear_conv_kernel_dim", fallback: 4)))
    let kinds = try layerTypes(c, layers: layers, default: "qwen3_next").enumerated().map {
      i, type -> AttentionKind in
      switch type {
      case "full_attention": return full
      case "linear_attention": return linear
      case "qwen3_next": return (i + 1) % 4 == 0 ? full : linear  // transformers' default
      default: throw unsupportedLayerType(type, supported: "full_attention, linear_attention")
      }
    }
    var moe = try Self.moe(c, experts: "num_experts", expertHidden: "moe_intermediate_size")
    if let shared = try c.optionalInt("shared_expert_intermediate_size", minimum: 0), shared > 0 {
      moe.sharedExperts = 1
      moe.sharedExpert = FeedForwardShape(hidden: shared)
      moe.sharedExpertGate = true
    }
    let step = try c.int("decoder_sparse_step", fallback: 1)
    let mlpOnly = Set(try c.indices("mlp_only_layers", below: layers))
    return Architecture(
      name: name, vocabularySize: try c.int("vocab_size"), width: width, layers: layers, attention: kinds[0],
      attentionLayers: kinds, denseFeedForward: FeedForwardShape(hidden: try c.int("intermediate_size")),
      moe: moe,
      isMoELayer: (0..<layers).map { ($0 + 1) % step == 0 && !mlpOnly.contains($0) },
      tiedEmbeddings: try c.bool("tie_word_embeddings", fallback: false))
  }

  /// Jamba: GQA on layers `i % attn_layer_period == attn_layer_offset`, Mamba on the others
  /// (`mamba_expand·d` channels, `mamba_d_state`, `mamba_d_conv`, `mamba_dt_rank` — "auto"
  /// is `⌈d/16⌉` — and the conv/projection biases); MoE on layers
  /// `i % expert_layer_period == expert_layer_offset`, dense `intermediate_size` elsewhere.
  static func jamba(_ c: ConfigFields, name: String) throws -> Architecture {
    let layers = try c.int("num_hidden_layers")
    let width = try c.int("hidden_size")
    let attention = try grouped(c, width: width, bias: false, outputBias: false)
    let dtRank: Int
    if case .string(let text) = c.fields["mamba_dt_rank"] {
      guard text == "auto" else {
        throw ConfigError.wrongType(field: "mamba_dt_rank", expected: "a whole number or \"auto\"")
      }
      dtRank = (width + 15) / 16
    } else {
      dtRank = try c.int("mamba_dt_rank", fallback: (width + 15) / 16)
    }
    let mamba = AttentionKind.recurrent(
      .mamba(
        inner: try c.int("mamba_expand", fallback: 2) * width,
        stateDim: try c.int("mamba_d_state", fallback: 16),
        convKernel: try c.int("mamba_d_conv", fallback: 4), dtRank: dtRank,
        convBias: try c.bool("mamba_conv_bias", fallback: true),
        projectionBias: try c.bool("mamba_proj_bias", fallback: false)))
    let (attentionPeriod, attentionOffset) = (
      try c.int("attn_layer_period", fallback: 8), try c.int("attn_layer_offset", minimum: 0, fallback: 4)
    )
    let (expertPeriod, expertOffset) = (
      try c.int("expert_layer_period", fallback: 2), try c.int("expert_layer_offset", minimum: 0, fallback: 1)
    )
    let kinds = (0..<layers).map { $0 % attentionPeriod == attentionOffset ? attention : mamba }
    let moe = try Self.moe(c, experts: "num_experts", expertHidden: "intermediate_size")
    return Architecture(
      name: name, vocabularySize: try c.int("vocab_size"), width: width, layers: layers, attention: kinds[0],
      attentionLayers: kinds, denseFeedForward: moe.expert, moe: moe,
      isMoELayer: (0..<layers).map { $0 % expertPeriod == expertOffset },
      tiedEmbeddings: try c.bool("tie_word_embeddings", fallback: false))
  }

  /// MiniMax: "linear_attention" layers of lightning attention beside "full_attention"
  /// GQA ones (`layer_types`, or MiniMax-Text-01's `attn_type_list`: 0 lightning,
  /// 1 softmax), every layer Mixtral's MoE.
  static func miniMax(_ c: ConfigFields, name: String) throws -> Architecture {
    let layers = try c.int("num_hidden_layers")
    let width = try c.int("hidden_size")
    let full = try grouped(c, width: width, bias: false, outputBias: false)
    let lightning = AttentionKind.recurrent(
      .lightning(heads: full.heads, headDim: full.outputWidth / full.heads))
    var types = try c.strings("layer_types")
    if types == nil, c.has("attn_type_list") {
      types = try c.indices("attn_type_list", below: 2).map {
        $0 == 1 ? "full_attention" : "linear_attention"
      }
    }
    let kinds = try (types ?? Array(repeating: "full_attention", count: layers)).map {
      type -> AttentionKind in
      switch type {
      case "full_attention": return full
      case "linear_attention": return lightning
      default: throw unsupportedLayerType(type, supported: "full_attention, linear_attention")
      }
    }
    guard kinds.count == layers else {
      throw ConfigError.inconsistent(
        fields: ["layer_types", "num_hidden_layers"],
        reason: "\(kinds.count) layer types for \(layers) layers")
    }
    let moe = try Self.moe(c, experts: "num_local_experts", expertHidden: "intermediate_size")
    return Architecture(
      name: name, vocabularySize: try c.int("vocab_size"), width: width, layers: layers, attention: kinds[0],
      attentionLayers: kinds, denseFeedForward: moe.expert, moe: moe,
      tiedEmbeddings: try c.bool("tie_word_embeddings", fallback: false))
  }

  /// Granite-4's hybrid (`granitemoehybrid`): Mamba-2 layers ("mamba" or
  /// "linear_attention" in `layer_types`, alias `layers_block_type`) beside GQA ones
  /// ("attention" or "full_attention"); every layer has a shared MLP of
  /// `shared_intermediate_size` and, with `num_local_experts > 0`, routed experts.
  static func graniteHybrid(_ c: ConfigFields, name: String) throws -> Architecture {
    let layers = try c.int("num_hidden_layers")
    let width = try c.int("hidden_size")
    let attention = try grouped(
      c, width: width, bias: try c.bool("attention_bias", fallback: false), outputBias: true)
    let heads = try c.int("mamba_n_heads", fallback: 128)
    let expand = try c.int("mamba_expand", fallback: 2)
    let headDim: Int
    if case .string("auto") = c.fields["mamba_d_head"] {
      headDim = expand * width / heads
    } else {
      headDim = try c.int("mamba_d_head", fallback: expand * width / heads)
    }
    let mamba = AttentionKind.recurrent(
      .mamba2(
        heads: heads, headDim: headDim, stateDim: try c.int("mamba_d_state", fallback: 256),
        groups: try c.int("mamba_n_groups", fallback: 1), convKernel: try c.int("mamba_d_conv", fallback: 4),
        convBias: try c.bool("mamba_conv_bias", fallback: true),
        projectionBias: try c.bool("mamba_proj_bias", fallback: false)))
    let types =
      try c.strings("layer_types") ?? c.strings("layers_block_type")
      ?? Array(repeating: "mamba", count: layers)
    guard types.count == layers else {
      throw ConfigError.inconsistent(
        fields: ["layer_types", "num_hidden_layers"],
        reason: "\(types.count) layer types for \(layers) layers")
    }
    let kinds = try types.map { type -> AttentionKind in
      switch type {
      case "mamba", "linear_attention": return mamba
      case "attention", "full_attention": return attention
      default: throw unsupportedLayerType(type, supported: "mamba, attention")
      }
    }
    let shared = FeedForwardShape(hidden: try c.int("shared_intermediate_size"))
    let experts = try c.int("num_local_experts", minimum: 0, fallback: 8)
    let moe: MoEShape? =
      experts == 0
      ? nil
      : MoEShape(
        routedExperts: experts, topK: try c.int("num_experts_per_tok"),
        expert: FeedForwardShape(hidden: try c.int("intermediate_size")), sharedExperts: 1,
        sharedExpert: shared)
    if let moe, moe.topK > moe.routedExperts {
      throw ConfigError.inconsistent(
        fields: ["num_experts_per_tok", "num_local_experts"],
        reason: "\(moe.topK) experts per token of \(experts)")
    }
    return Architecture(
      name: name, vocabularySize: try c.int("vocab_size"), width: width, layers: layers, attention: kinds[0],
      attentionLayers: kinds, denseFeedForward: shared, moe: moe,
      tiedEmbeddings: try c.bool("tie_word_embeddings", fallback: false))
  }

  /// MHA/GQA from `num_attention_heads`, `num_key_value_heads` and `head_dim` (else
  /// `hidden_size / heads`), with biases on q/k/v when `bias` (and on o too when
  /// `outputBias`) and the q/k norms `qkNorm`.
  static func grouped(
    _ c: ConfigFields, width: Int, bias: Bool, outputBias: Bool, qkNorm: AttentionKind.QKNorm = .none
  ) throws -> AttentionKind {
    let heads = try c.int("num_attention_heads")
    let kvHeads = try c.int("num_key_value_heads", fallback: heads)
    guard heads % kvHeads == 0 else {
      throw ConfigError.inconsistent(
        fields: ["num_attention_heads", "num_key_value_heads"],
        reason: "\(heads) query heads cannot share \(kvHeads) key/value heads evenly")
    }
    guard let headDim = try c.optionalInt("head_dim") ?? (width % heads == 0 ? width / heads : nil) else {
      throw ConfigError.inconsistent(
        fields: ["hidden_size", "num_attention_heads"],
        reason: "without head_dim, \(width) must divide evenly into \(heads) heads")
    }
    return .grouped(
      heads: heads, kvHeads: kvHeads, headDim: headDim, qkvBias: bias, qkNorm: qkNorm,
      outputBias: bias && outputBias)
  }

  /// `layer_types`, checked to name every layer; `layers` copies of `fallback` without it.
  static func layerTypes(_ c: ConfigFields, layers: Int, default fallback: String) throws -> [String] {
    guard let types = try c.strings("layer_types") else { return Array(repeating: fallback, count: layers) }
    guard types.count == layers else {
      throw ConfigError.inconsistent(
        fields: ["layer_types", "num_hidden_layers"],
        reason: "\(types.count) layer types for \(layers) layers")
    }
    return types
  }

  /// The error for a `layer_types` entry the importer cannot cost.
  static func unsupportedLayerType(_ type: String, supported: String) -> ConfigError {
    .outOfRange(field: "layer_types", value: type, requirement: "one of \(supported)")
  }
}
