import CostModel
import Foundation
import Linalg
import MoE

/// Whole models: embedding, every layer's attention and feed-forward, the final norm and
/// the head, with the forward semantics of `transformers`' modeling code:
///
/// - `model.embed_tokens.weight` (`V × d`), `model.norm.weight`, `lm_head.weight` (absent,
///   or ignored as `transformers` ignores it, when `tie_word_embeddings`) and `lm_head.bias`
///   where the architecture has one;
/// - per layer `model.layers.{i}.input_layernorm.weight`, `….post_attention_layernorm.weight`
///   (RMSNorms with `rms_norm_eps`), then grouped-query attention
///   (`….self_attn.{q,k,v,o}_proj.{weight,bias}`, biases and q/k norms as the architecture
///   says, windows and extras as the family says) or multi-head latent attention
///   (`latentAttention`);
/// - RoPE from `rope_parameters` (or the older `rope_theta` + `rope_scaling`): `default`,
///   `linear`, `llama3` and `yarn`, on `partial_rotary_factor` of each head.
///
/// DeepSeek-V3's multi-token-prediction layers (after the main ones) are not loaded, as
/// `transformers` does not load them. Any other tensor of the checkpoint that the model does
/// not read is an error (`unexpectedTensors`): a file with more than its config describes is
/// not trusted.
extension HuggingFaceCheckpoint {
  /// The whole model, every tensor checked against the config.
  ///
  /// - Throws: `CheckpointError` naming the tensor or field at fault.
  public func model() throws -> DecoderModel<Float> {
    let epsilon = Float(try checked { try config.double("rms_norm_eps", fallback: 1e-6) })
    let vocabulary = architecture.vocabularySize
    let embedding = try tensor("model.embed_tokens.weight", [vocabulary, width], Float.self)
    let blocks = try (0..<layerCount).map { i in
      DecoderBlock(
        attentionNorm: try blockNorm("model.layers.\(i).\(family.normNames.attention)", epsilon),
        attention: try attention(layer: i, epsilon: epsilon),
        feedForward: FeedForwardBlock(
          feedForwardNorm: try blockNorm("model.layers.\(i).\(family.normNames.feedForward)", epsilon),
          feedForward: try feedForward(layer: i)))
    }
    let finalNorm = try blockNorm("model.\(family.normNames.final)", epsilon)
    let headBias = architecture.outputHeadBias ? try tensor("lm_head.bias", [vocabulary], Float.self) : nil
    var head: Linear<Float>?
    if architecture.tiedEmbeddings {
      if weights.contains("lm_head.weight") { ledger.record("lm_head.weight") }
    } else {
      head = try linear("lm_head.weight", [vocabulary, width], Float.self, bias: headBias)
    }
    // DeepSeek-V3's multi-token-prediction layers follow the main ones; `transformers`
    // skips them too.
    let mtp = (layerCount..<layerCount + architecture.multiTokenPredictionModules).map {
      "model.layers.\($0)."
    }
    let unread = ledger.unread(of: weights.names).filter { name in
      !name.hasSuffix("rotary_emb.inv_freq") && !mtp.contains { name.hasPrefix($0) }
    }
    guard unread.isEmpty else { throw CheckpointError.unexpectedTensors(unread) }
    var model = DecoderModel(embedding: embedding, blocks: blocks, finalNorm: finalNorm, head: head)
    if architecture.tiedEmbeddings { model.tiedHeadBias = headBias.map { Parameter($0) } }
    try family.finish(&model, self)
    return model
  }

  /// The token ids that end a sequence: `generation_config`'s `eos_token_id` when it has one
  /// (as `transformers`' `generate` uses it), otherwise `config.json`'s — one id, a list, or none.
  ///
  /// - Throws: `CheckpointError.config` for ids of the wrong type or outside the vocabulary.
  public func endOfSequenceIds(generationConfig: ConfigFields? = nil) throws -> [Int] {
    let bound = architecture.vocabularySize
    let config = generationConfig.flatMap { $0.has("eos_token_id") ? $0 : nil } ?? self.config
    let ids: [Int]
    switch config.fields["eos_token_id"] {
    case nil, .null?: ids = []
    case .number?: ids = [try checked { try config.int("eos_token_id", minimum: 0) }]
    case .array?: ids = try checked { try config.indices("eos_token_id", below: bound) }
    default:
      throw CheckpointError.config(
        .wrongType(field: "eos_token_id", expected: "a token id or a list of them"))
    }
    guard ids.allSatisfy({ $0 < bound }) else {
      throw CheckpointError.config(
        .outOfRange(field: "eos_token_id", value: "\(ids)", requirement: "ids below vocab_size \(bound)"))
    }
    return ids
  }

  /// Layer `i`'s attention sublayer.
  /// Layer `i`'s attention sublayer, of the kind `architecture.attentionLayers[i]` says. A
  /// windowed kind's window comes from the family (`ModelFamily.window`), which knows whether it
  /// slides or is chunked; a kind with sinks reads `self_attn.sinks` (one logit per head).
  func attention(layer i: Int, epsilon: Float) throws -> AttentionSublayer<Float> {
    var (kind, sinks, gated) = (architecture.attentionLayers[i], false, false)
    while true {
      switch kind {
      case .windowed(let inner, _): kind = inner
      case .withSinks(let inner): (kind, sinks) = (inner, true)
      case .outputGated(let inner): (kind, gated) = (inner, true)
      case .grouped:
        return .grouped(
          try groupedAttention(layer: i, kind: kind, sinks: sinks, outputGate: gated, epsilon: epsilon))
      case .latent where !sinks && !gated: return .latent(try latentAttention(layer: i))
      case .recurrent(.gatedDeltaNet(let keyHeads, let keyDim, let valueHeads, let valueDim, let kernel)):
        return .recurrent(
          try gatedDeltaNet(
            layer: i, keyHeads: keyHeads, keyDimensions: keyDim, valueHeads: valueHeads,
            valueDimensions: valueDim, kernel: kernel, epsilon: epsilon))
      case .recurrent(.mamba(let inner, let stateDim, let kernel, let rank, let convBias, let projectionBias)):
        return .recurrent(
          try mambaMixer(
            layer: i, channels: inner, stateDimensions: stateDim, kernel: kernel, rank: rank,
            convolutionBias: convBias,
            projectionBias: projectionBias, epsilon: epsilon))
      case .latent, .sparse, .recurrent:
        throw CheckpointError.unsupportedField(
          field: "layer_types", value: "\(architecture.attentionLayers[i])",
          supported: "MHA or GQA (windowed, with sinks or an output gate), MLA, or Gated DeltaNet")
      }
    }
  }

  /// Layer `i`'s Mamba mixer (Jamba): `mamba.in_proj`, `conv1d.{weight,bias}` (`[E, 1, K]`),
  /// `x_proj`, `dt_proj` (with its bias), `A_log` (`E × N`), `D`, `out_proj`, and the RMSNorms
  /// `dt_layernorm`, `b_layernorm`, `c_layernorm` when the checkpoint has them.
  func mambaMixer(
    layer i: Int, channels e: Int, stateDimensions n: Int, kernel: Int, rank: Int, convolutionBias: Bool,
    projectionBias: Bool, epsilon: Float
  ) throws -> MambaMixer<Float> {
    let prefix = "model.layers.\(i).mamba"
    func projection(_ name: String, _ rows: Int, _ columns: Int, bias: Bool) throws -> Linear<Float> {
      try linear(
        "\(prefix).\(name).weight", [rows, columns], Float.self,
        bias: bias ? try tensor("\(prefix).\(name).bias", [rows], Float.self) : nil)
    }
    let filters = try stackedTensor("\(prefix).conv1d.weight", [e, 1, kernel], Float.self)
    var norms: (RMSNorm<Float>, RMSNorm<Float>, RMSNorm<Float>)?
    if weights.contains("\(prefix).dt_layernorm.weight") {
      norms = (
        try norm("\(prefix).dt_layernorm.weight", rank, epsilon),
        try norm("\(prefix).b_layernorm.weight", n, epsilon),
        try norm("\(prefix).c_layernorm.weight", n, epsilon)
      )
    }
    return MambaMixer(
      input: try projection("in_proj", 2 * e, width, bias: projectionBias),
      convolution: Matrix(rows: e, columns: kernel, elements: filters.flatMap(\.elements)),
      convolutionBias: convolutionBias ? try tensor("\(prefix).conv1d.bias", [e], Float.self) : nil,
      stateProjection: try projection("x_proj", rank + 2 * n, e, bias: false), norms: norms,
      timeStep: try projection("dt_proj", e, rank, bias: true),
      decayLog: try tensor("\(prefix).A_log", [e, n], Float.self),
      skip: try tensor("\(prefix).D", [e], Float.self),
      output: try projection("out_proj", width, e, bias: projectionBias))
  }

  /// Layer `i`'s Gated DeltaNet (Qwen3-Next): `linear_attn.in_proj_qkvz` holds, for each key
  /// head `g`, its query and key rows and the value and gate rows of its value heads
  /// (`[q_g, k_g, v_g, z_g]`), and `in_proj_ba` each key head's `[b_g, a_g]`; they are taken apart
  /// into the mixer's projections. `conv1d.weight` `[C, 1, K]`, `dt_bias`, `A_log` (`Hv`),
  /// `norm.weight` (`Dv`, used as stored) and `out_proj`.
  func gatedDeltaNet(
    layer i: Int, keyHeads: Int, keyDimensions dk: Int, valueHeads: Int, valueDimensions dv: Int, kernel: Int,
    epsilon: Float
  ) throws -> GatedDeltaNet<Float> {
    guard keyHeads > 0, valueHeads % keyHeads == 0, kernel >= 1 else {
      throw CheckpointError.config(
        .inconsistent(
          fields: ["linear_num_key_heads", "linear_num_value_heads", "linear_conv_kernel_dim"],
          reason: "\(valueHeads) value heads over \(keyHeads) key heads, a kernel of \(kernel)"))
    }
    let prefix = "model.layers.\(i).linear_attn"
    let r = valueHeads / keyHeads
    let group = 2 * dk + 2 * r * dv
    let (keyWidth, valueWidth) = (keyHeads * dk, valueHeads * dv)
    /// Of each key head's group of `in_proj_qkvz` rows, `count` from `offset`.
    func rows(_ offset: Int, _ count: Int) -> [Int] {
      (0..<keyHeads).flatMap { g in (0..<count).map { g * group + offset + $0 } }
    }
    let qkvz = ("\(prefix).in_proj_qkvz.weight", [keyHeads * group, width])
    let ba = ("\(prefix).in_proj_ba.weight", [2 * valueHeads, width])
    /// Of each key head's `b` and `a` rows in `in_proj_ba`, those from `offset`.
    func baRows(_ offset: Int) -> [Int] {
      (0..<keyHeads).flatMap { g in (0..<r).map { g * 2 * r + offset + $0 } }
    }
    let channels = 2 * keyWidth + valueWidth
    let filters = try stackedTensor("\(prefix).conv1d.weight", [channels, 1, kernel], Float.self)
    var norm = RMSNorm<Float>(dimensions: dv, epsilon: epsilon)
    norm.weight = Parameter(try tensor("\(prefix).norm.weight", [dv], Float.self))
    return GatedDeltaNet(
      query: try linear(qkvz.0, qkvz.1, Float.self, rowOrder: rows(0, dk)),
      key: try linear(qkvz.0, qkvz.1, Float.self, rowOrder: rows(dk, dk)),
      value: try linear(qkvz.0, qkvz.1, Float.self, rowOrder: rows(2 * dk, r * dv)),
      outputGate: try linear(qkvz.0, qkvz.1, Float.self, rowOrder: rows(2 * dk + r * dv, r * dv)),
      writeStrength: try linear(ba.0, ba.1, Float.self, rowOrder: baRows(0)),
      decayInput: try linear(ba.0, ba.1, Float.self, rowOrder: baRows(r)),
      convolution: Matrix(rows: channels, columns: kernel, elements: filters.flatMap(\.elements)),
      decayBias: try tensor("\(prefix).dt_bias", [valueHeads], Float.self),
      decayLogRate: try tensor("\(prefix).A_log", [valueHeads], Float.self), norm: norm,
      output: try linear("\(prefix).out_proj.weight", [width, valueWidth], Float.self),
      keyHeads: keyHeads, valueHeads: valueHeads)
  }

  /// Layer `i`'s multi-head latent attention (DeepSeek-V2/V3): `q_proj`, or `q_a_proj` →
  /// `q_a_layernorm` → `q_b_proj`; `kv_a_proj_with_mqa` → `kv_a_layernorm` → `kv_b_proj`;
  /// `o_proj`; biases on `q_a_proj`, `kv_a_proj_with_mqa` and `o_proj` with
  /// `attention_bias`. The checkpoints store each RoPE slice interleaved (pairs `2j, 2j+1`,
  /// `rope_interleave`, default true): those rows are reordered evens-then-odds at load,
  /// which turns the interleaved rotation into `RotaryEmbedding`'s rotate-half one without
  /// changing any score. The latent norms use `transformers`' fixed ε = 1e-6. Under YaRN
  /// with `mscale_all_dim`, scores are scaled by `mscale²/√(Dn + Dr)`.
  func latentAttention(layer i: Int) throws -> MultiHeadLatentAttention<Float> {
    guard case .latent(let heads, let queryRank, let r, let dn, let dr, let dv) = architecture.attention
    else {
      preconditionFailure("latentAttention on grouped-query attention")
    }
    // RoPE first: its fields are checked before any tensor is shaped by them, so a bad
    // qk_rope_head_dim or YaRN field is blamed on the config, not on the weights.
    let rotary = try self.rotary(headDimensions: dr, field: "qk_rope_head_dim")
    let prefix = "model.layers.\(i).self_attn"
    let (bias, interleaved) = try checked {
      (try config.bool("attention_bias", fallback: false), try config.bool("rope_interleave", fallback: true))
    }
    func projection(
      _ name: String, _ rows: Int, _ columns: Int, bias: Bool, rope: [Range<Int>] = [], compact: Bool = true
    ) throws -> Linear<Float> {
      var b = bias ? try tensor("\(prefix).\(name).bias", [rows], Float.self) : nil
      let order = interleaved && !rope.isEmpty ? Self.deinterleavedRows(rows, slices: rope) : nil
      if let order { b = b.map { v in Matrix(row: order.map { v[0, $0] }) } }
      guard compact else {
        let weight = try tensor("\(prefix).\(name).weight", [rows, columns], Float.self)
        return Linear(weight: order.map { weight.gatheringRows($0) } ?? weight, bias: b)
      }
      return try linear("\(prefix).\(name).weight", [rows, columns], Float.self, bias: b, rowOrder: order)
    }
    let queryRope = (0..<heads).map { h in h * (dn + dr) + dn..<(h + 1) * (dn + dr) }
    let queryWidth = heads * (dn + dr)
    var (query, queryDown, queryNorm, queryUp):
      (Linear<Float>?, Linear<Float>?, RMSNorm<Float>?, Linear<Float>?)
    if let queryRank {
      queryDown = try projection("q_a_proj", queryRank, width, bias: bias)
      queryNorm = try norm("\(prefix).q_a_layernorm.weight", queryRank, 1e-6)
      queryUp = try projection("q_b_proj", queryWidth, queryRank, bias: false, rope: queryRope)
    } else {
      query = try projection("q_proj", queryWidth, width, bias: false, rope: queryRope)
    }
    var scale = 1 / Double(dn + dr).squareRoot()
    if case .yarn(let factor, _, _, _, _, _) = rotary.scaling {
      let all = try checked { try yarnField("mscale_all_dim") }
      if all != 0 {
        scale *= RotaryEmbedding.yarnMagnitude(factor, all) * RotaryEmbedding.yarnMagnitude(factor, all)
      }
    }
    return MultiHeadLatentAttention(
      query: query, queryDown: queryDown, queryNorm: queryNorm, queryUp: queryUp,
      keyValueDown: try projection("kv_a_proj_with_mqa", r + dr, width, bias: bias, rope: [r..<r + dr]),
      keyValueNorm: try norm("\(prefix).kv_a_layernorm.weight", r, 1e-6),
      // The absorbed decode reads kv_b_proj's rows directly: it stays Float.
      keyValueUp: try projection("kv_b_proj", heads * (dn + dv), r, bias: false, compact: false),
      output: try projection("o_proj", width, heads * dv, bias: bias),
      heads: heads, nopeDimensions: dn, valueDimensions: dv, rotary: rotary, scale: scale)
  }

  /// Row order that lists, within each slice, the even rows first and then the odd ones.
  static func deinterleavedRows(_ rows: Int, slices: [Range<Int>]) -> [Int] {
    var order = Array(0..<rows)
    for slice in slices {
      let rows = Array(slice)
      let reordered =
        stride(from: 0, to: rows.count, by: 2).map { rows[$0] }
        + stride(from: 1, to: rows.count, by: 2).map { rows[$0] }
      for (j, row) in zip(slice, reordered) { order[j] = row }
    }
    return order
  }

  /// A number from the RoPE parameters (`rope_parameters` or `rope_scaling`), 0 when absent.
  func yarnField(_ key: String) throws -> Double {
    guard case .object(let fields)? = config.fields["rope_parameters"] ?? config.fields["rope_scaling"] else {
      return 0
    }
    return try ConfigFields(fields: fields).double(key, fallback: 0)
  }

  /// Layer `i`'s grouped-query attention of `kind` (`.grouped`), with the sinks when `sinks`,
  /// and with `outputGate` Qwen3-Next's gate: `q_proj` then holds, per head, the query's `D`
  /// rows followed by the gate's.
  func groupedAttention(layer i: Int, kind: AttentionKind, sinks: Bool, outputGate: Bool, epsilon: Float)
    throws
    -> MultiHeadAttention<Float>
  {
    guard case .grouped(let heads, let kvHeads, let headDim, let qkvBias, let qkNorm, let outputBias) = kind
    else {
      preconditionFailure("groupedAttention on \(kind)")
    }
    let prefix = "model.layers.\(i).self_attn"
    let rotated = try rotatedDimensions(headDim)
    let rotary = try self.rotary(headDimensions: headDim, rotatedDimensions: rotated, field: "head_dim")
    /// A projection; with `rotatedHeads`, a family storing RoPE pairs interleaved gets each of
    /// those heads' rotated rows reordered evens-then-odds.
    func projection(_ name: String, _ rows: Int, _ columns: Int, bias: Bool, rotatedHeads: Int = 0) throws
      -> Linear<Float>
    {
      var b = bias ? try tensor("\(prefix).\(name).bias", [rows], Float.self) : nil
      guard family.interleavedRotary, rotatedHeads > 0 else {
        return try linear("\(prefix).\(name).weight", [rows, columns], Float.self, bias: b)
      }
      let order = Self.deinterleavedRows(
        rows, slices: (0..<rotatedHeads).map { $0 * headDim..<$0 * headDim + rotated })
      b = b.map { v in Matrix(row: order.map { v[0, $0] }) }
      return try linear("\(prefix).\(name).weight", [rows, columns], Float.self, bias: b, rowOrder: order)
    }
    var layer = MultiHeadAttention(
      query: outputGate
        ? try gatedQuery(prefix, heads: heads, headDim: headDim, bias: qkvBias, half: 0)
        : try projection("q_proj", heads * headDim, width, bias: qkvBias, rotatedHeads: heads),
      key: try projection("k_proj", kvHeads * headDim, width, bias: qkvBias, rotatedHeads: kvHeads),
      value: try projection("v_proj", kvHeads * headDim, width, bias: qkvBias),
      output: try projection("o_proj", width, heads * headDim, bias: outputBias),
      pattern: ScaledDotProductAttention(
        heads: heads, kvHeads: kvHeads, keyDimensions: headDim, valueDimensions: headDim,
        window: try family.window(self, layer: i)),
      rotary: rotary)
    if outputGate {
      layer.outputGate = try gatedQuery(prefix, heads: heads, headDim: headDim, bias: qkvBias, half: 1)
    }
    if sinks {
      layer.pattern.sinks = try tensor("\(prefix).sinks", [heads], Float.self).elements.map(Double.init)
    }
    let names = family.queryKeyNormLayout
    switch qkNorm {
    case .none: break
    case .perHead:
      layer.queryKeyNorm = .init(
        query: try norm("\(prefix).\(names.query).weight", headDim, epsilon),
        key: try norm("\(prefix).\(names.key).weight", headDim, epsilon), perHead: true,
        afterRotary: names.afterRotary)
    case .perProjection:
      layer.queryKeyNorm = .init(
        query: try norm("\(prefix).\(names.query).weight", heads * headDim, epsilon),
        key: try norm("\(prefix).\(names.key).weight", kvHeads * headDim, epsilon), perHead: false,
        afterRotary: names.afterRotary)
    }
    try family.finish(&layer, self, layer: i)
    return layer
  }

  /// The query (`half` 0) or output-gate (`half` 1) rows of a gated `q_proj` (`2·H·D × d`,
  /// each head's `D` query rows then its `D` gate rows).
  func gatedQuery(_ prefix: String, heads: Int, headDim: Int, bias: Bool, half: Int) throws -> Linear<Float> {
    let order = (0..<heads).flatMap { h in (0..<headDim).map { 2 * h * headDim + half * headDim + $0 } }
    let b = bias ? try tensor("\(prefix).q_proj.bias", [2 * heads * headDim], Float.self) : nil
    return try linear(
      "\(prefix).q_proj.weight", [2 * heads * headDim, width], Float.self,
      bias: b.map { v in Matrix(row: order.map { v[0, $0] }) }, rowOrder: order)
  }

  /// The features of a head that RoPE turns: `head_dim · partial_rotary_factor` (from
  /// `rope_parameters` or the top level; GLM-4.5 rotates half), all by default.
  func rotatedDimensions(_ headDim: Int) throws -> Int {
    var factor = try checked { try config.double("partial_rotary_factor", fallback: 1) }
    if case .object(let fields)? = config.fields["rope_parameters"] {
      factor = try checked {
        try ConfigFields(fields: fields).double("partial_rotary_factor", fallback: factor)
      }
    }
    let rotated = Int(Double(headDim) * factor)
    guard factor > 0, factor <= 1, rotated >= 2, rotated % 2 == 0 else {
      throw CheckpointError.config(
        .outOfRange(
          field: "partial_rotary_factor", value: "\(factor)",
          requirement: "in (0, 1], rotating an even number of the \(headDim) head features"))
    }
    return rotated
  }

  /// A `width`-wide norm of the kind the architecture says: an RMSNorm with gain
  /// `prefix.weight`, or a LayerNorm with gain and bias `prefix.{weight,bias}`.
  func blockNorm(_ prefix: String, _ epsilon: Float) throws -> Normalization<Float> {
    guard architecture.normKind == .layer else { return .rms(try norm("\(prefix).weight", width, epsilon)) }
    var norm = LayerNorm<Float>(dimensions: width, epsilon: epsilon)
    norm.weight = Parameter(try tensor("\(prefix).weight", [width], Float.self))
    norm.bias = Parameter(try tensor("\(prefix).bias", [width], Float.self))
    return .layer(norm)
  }

  /// An RMSNorm whose gain is the named `n`-vector (plus the family's `normGainOffset`).
  func norm(_ name: String, _ n: Int, _ epsilon: Float) throws -> RMSNorm<Float> {
    var norm = RMSNorm<Float>(dimensions: n, epsilon: epsilon)
    let offset = family.normGainOffset
    let gain = try tensor(name, [n], Float.self)
    norm.weight = Parameter(offset == 0 ? gain : Matrix(row: gain.elements.map { $0 + offset }))
    return norm
  }

  /// Layer `i`'s window as `layer_types` says: `sliding_window` for "sliding_attention",
  /// `nil` for "full_attention". Without `layer_types`, `fallback` lists the layer types (the
  /// family's default), and without either the config is refused.
  func layerTypeWindow(layer i: Int, fallback: [String]?) throws -> Int? {
    let types = try checked { try config.strings("layer_types") } ?? fallback
    guard let types, types.count == layerCount else {
      throw CheckpointError.unsupportedField(
        field: "layer_types", value: config.has("layer_types") ? "a list of the wrong length" : "absent",
        supported: "one entry per layer (\(layerCount)) for a sliding window")
    }
    switch types[i] {
    case "full_attention": return nil
    case "sliding_attention": return try checked { try config.int("sliding_window") }
    default:
      throw CheckpointError.unsupportedField(
        field: "layer_types[\(i)]", value: types[i], supported: "full_attention, sliding_attention")
    }
  }

  /// RoPE as the config describes it, for heads of `headDimensions` (rotating the first
  /// `rotatedDimensions`, default all); `field` names the config field the rotated width came
  /// from, for the error when it is not a positive even width within the head.
  func rotary(headDimensions: Int, rotatedDimensions: Int? = nil, field: String) throws -> RotaryEmbedding {
    let rotated = rotatedDimensions ?? headDimensions
    guard rotated > 0, rotated % 2 == 0, rotated <= headDimensions else {
      throw CheckpointError.config(
        .outOfRange(
          field: field, value: "\(rotated) rotated of \(headDimensions)",
          requirement: "a positive even width no wider than the head"))
    }
    let nested: ConfigFields
    switch config.fields["rope_parameters"] ?? config.fields["rope_scaling"] ?? .null {
    case .object(let fields): nested = ConfigFields(fields: fields)
    case .null: nested = ConfigFields(fields: [:])
    default:
      throw CheckpointError.config(.wrongType(field: "rope_parameters", expected: "an object"))
    }
    return try checked {
      var base = try nested.double("rope_theta", fallback: try config.double("rope_theta", fallback: 10_000))
      guard base > 1 else {
        throw ConfigError.outOfRange(field: "rope_theta", value: "\(base)", requirement: "greater than 1")
      }
      let kind = try nested.string("rope_type") ?? nested.string("type") ?? "default"
      func factor() throws -> Double {
        let f = try nested.double("factor", fallback: .nan)
        guard f > 0 else {
          throw ConfigError.outOfRange(
            field: "rope_parameters.factor", value: "\(f)", requirement: "positive")
        }
        return f
      }
      let original =
        try nested.optionalInt("original_max_position_embeddings")
        ?? config.optionalInt("original_max_position_embeddings")
        ?? config.int("max_position_embeddings")
      guard original > 0 else {
        throw ConfigError.outOfRange(
          field: "original_max_position_embeddings", value: "\(original)", requirement: "positive")
      }
      /// A finite field of `rope_parameters`, positive when `positive`.
      func finite(_ name: String, fallback: Double, positive: Bool = false) throws -> Double {
        let value: Double
        do {
          value = try nested.double(name, fallback: fallback)
        } catch ConfigError.wrongType(_, let expected) {
          throw ConfigError.wrongType(field: "rope_parameters.\(name)", expected: expected)
        }
        guard value.isFinite, !positive || value > 0 else {
          throw ConfigError.outOfRange(
            field: "rope_parameters.\(name)", value: "\(value)",
            requirement: positive ? "finite and positive" : "finite")
        }
        return value
      }
      let scaling: RotaryEmbedding.Scaling
      switch kind {
      case "default": scaling = .none
      case "dynamic" where nested.has("alpha"):
        // NTK with a fixed alpha (Hunyuan): only the base stretches, base · α^(D/(D−2)).
        let alpha = try finite("alpha", fallback: 1, positive: true)
        let width = Double(headDimensions)
        base *= Foundation.pow(alpha, width / (width - 2))
        scaling = .none
      case "linear": scaling = .linear(factor: try factor())
      case "llama3":
        let (low, high) = (
          try finite("low_freq_factor", fallback: 1), try finite("high_freq_factor", fallback: 4)
        )
        guard low > 0, high > low else {
          throw ConfigError.inconsistent(
            fields: ["low_freq_factor", "high_freq_factor"], reason: "need 0 < low (\(low)) < high (\(high))")
        }
        scaling = .llama3(
          factor: try factor(), lowFrequencyFactor: low, highFrequencyFactor: high, originalContext: original)
      case "yarn":
        let f =
          nested.has("factor")
          ? try factor() : Double(try config.int("max_position_embeddings")) / Double(original)
        let (m, mAll) = (try finite("mscale", fallback: 0), try finite("mscale_all_dim", fallback: 0))
        let given =
          nested.has("attention_factor") ? try finite("attention_factor", fallback: 1, positive: true) : nil
        let attention =
          given
          ?? (m != 0 && mAll != 0
            ? RotaryEmbedding.yarnMagnitude(f, m) / RotaryEmbedding.yarnMagnitude(f, mAll)
            : RotaryEmbedding.yarnMagnitude(f))
        let fast = try finite("beta_fast", fallback: 32)
        let slow = try finite("beta_slow", fallback: 1)
        scaling = .yarn(
          factor: f, originalContext: original, betaFast: fast == 0 ? 32 : fast,
          betaSlow: slow == 0 ? 1 : slow,
          attentionFactor: attention, truncate: try nested.bool("truncate", fallback: true))
      default:
        throw CheckpointError.unsupportedField(
          field: "rope_parameters.rope_type", value: kind,
          supported: "default, linear, llama3, yarn, dynamic with a fixed alpha")
      }
      return RotaryEmbedding(
        headDimensions: headDimensions, rotatedDimensions: rotatedDimensions, base: base, scaling: scaling)
    }
  }
}
