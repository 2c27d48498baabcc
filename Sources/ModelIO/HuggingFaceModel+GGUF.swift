import CostModel
import Foundation
import Linalg

extension HuggingFaceModel {
  /// Writes the model as it is held to a GGUF file that llama.cpp loads: the architecture its
  /// family maps to (`GGUFArchitecture`), its `config.json` as that architecture's metadata,
  /// the folder's byte-level BPE `tokenizer.json` (if any) as `tokenizer.ggml.*`, each product weight in
  /// its held format (bf16, q8 as Q8_0, q4 as Q4_0, the ggml block formats as they are; Float as
  /// F32), experts stacked into `ffn_*_exps`, and the `llama` architecture's query and key rows
  /// permuted to interleaved rotary pairs as llama.cpp's converter does. Atomic.
  ///
  /// - Throws: `GGUFError.unsupportedModelFeature` for a family, RoPE scaling, tokenizer or
  ///   tensor GGUF has no place for (or q8/q4 rows that are not whole blocks of 32), and
  ///   `FileWriteError`.
  public func saveGGUF(to path: String) throws {
    let type = checkpoint.modelType
    guard
      let architecture = GGUFArchitecture.writable.first(where: {
        $0.modelTypes.moe == type || $0.modelTypes.dense == type
      })
    else {
      throw GGUFError.unsupportedModelFeature(
        "model_type \"\(type)\"",
        supported: GGUFArchitecture.writable.flatMap {
          [$0.modelTypes.moe] + ($0.modelTypes.dense.map { [$0] } ?? [])
        }
        .joined(separator: ", "))
    }
    // llama.cpp builds every layer of these architectures with experts, or none with them.
    let moeLayers = try (0..<checkpoint.layerCount).filter { try checkpoint.isMoE(layer: $0) }.count
    guard moeLayers == 0 || moeLayers == checkpoint.layerCount else {
      throw GGUFError.unsupportedModelFeature(
        "dense feed-forward layers beside MoE ones in a \(architecture.name) file",
        supported: "all layers MoE")
    }
    var writer = GGUFWriter()
    writer.metadata = try metadata(architecture) + tokenizerMetadata()
    writer.tensors = try ggufTensors(architecture)
    try writer.write(to: path)
  }

  /// `config.json` as the architecture's metadata (the inverse of `GGUFArchitecture.config(of:)`).
  func metadata(_ architecture: GGUFArchitecture) throws -> [(key: String, value: GGUFWriter.Value)] {
    let (config, a) = (checkpoint.config, architecture.name)
    func int(_ key: String, _ fallback: Int? = nil) throws -> UInt32 {
      UInt32(try checkpoint.checked { try config.int(key, fallback: fallback) })
    }
    var rope = config
    if case .object(let fields)? = config.fields["rope_parameters"] ?? config.fields["rope_scaling"] {
      rope = ConfigFields(fields: fields)
      let kind = try checkpoint.checked { try rope.string("rope_type") ?? rope.string("type") } ?? "default"
      guard kind == "default" else {
        throw GGUFError.unsupportedModelFeature("RoPE \"\(kind)\"", supported: "default")
      }
    }
    let theta = try checkpoint.checked {
      try rope.double("rope_theta", fallback: try config.double("rope_theta", fallback: 10_000))
    }
    let heads = try int("num_attention_heads")
    let headSize =
      config.fields["head_dim"].flatMap { $0 == .null ? nil : $0 } != nil
      ? try int("head_dim") : try int("hidden_size") / heads
    var entries: [(key: String, value: GGUFWriter.Value)] = [
      ("general.architecture", .string(a)),
      ("general.name", .string(URL(fileURLWithPath: folder).lastPathComponent)),
      ("\(a).block_count", .u32(try int("num_hidden_layers"))),
      ("\(a).context_length", .u32(try int("max_position_embeddings"))),
      ("\(a).embedding_length", .u32(try int("hidden_size"))),
      ("\(a).feed_forward_length", .u32(try int("intermediate_size"))),
      ("\(a).attention.head_count", .u32(heads)),
      ("\(a).attention.head_count_kv", .u32(try int("num_key_value_heads", Int(heads)))),
      ("\(a).attention.key_length", .u32(headSize)),
      ("\(a).attention.value_length", .u32(headSize)),
      ("\(a).rope.dimension_count", .u32(headSize)),
      ("\(a).rope.freq_base", .f32(Float(theta))),
      (
        "\(a).attention.layer_norm_rms_epsilon",
        .f32(Float(try checkpoint.checked { try config.double("rms_norm_eps", fallback: 1e-6) }))
      ),
      ("\(a).vocab_size", .u32(UInt32(model.vocabulary))),
    ]
    if case .number(let clip)? = config.fields["clip_qkv"] {
      entries.append(("\(a).attention.clamp_kqv", .f32(Float(clip))))
    }
    if let moe = checkpoint.architecture.moe {
      entries += [
        ("\(a).expert_count", .u32(UInt32(moe.routedExperts))),
        ("\(a).expert_used_count", .u32(UInt32(moe.topK))),
      ]
      if config.has("moe_intermediate_size") {
        entries.append(("\(a).expert_feed_forward_length", .u32(try int("moe_intermediate_size"))))
      }
      if config.has("shared_expert_intermediate_size") {
        entries.append(
          ("\(a).expert_shared_feed_forward_length", .u32(try int("shared_expert_intermediate_size"))))
      }
    }
    for key in ["bos_token_id", "eos_token_id"] {
      if case .number(let id)? = config.fields[key] {
        entries.append(("tokenizer.ggml.\(key)", .u32(UInt32(id))))
      }
    }
    return entries
  }

  /// The folder's `tokenizer.json` as `tokenizer.ggml.*`: a byte-level BPE's tokens, types and
  /// merges, and its pre-tokenizer's llama.cpp name (`none` without a `tokenizer.json`).
  func tokenizerMetadata() throws -> [(key: String, value: GGUFWriter.Value)] {
    let path = URL(fileURLWithPath: folder).appendingPathComponent("tokenizer.json").path
    guard FileManager.default.fileExists(atPath: path) else {
      return [("tokenizer.ggml.model", .string("none"))]
    }
    guard
      let data = FileManager.default.contents(atPath: path),
      let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let model = json["model"] as? [String: Any], model["type"] as? String == "BPE",
      model["byte_fallback"] as? Bool != true, let vocab = model["vocab"] as? [String: Int],
      let merges = model["merges"] as? [Any]
    else {
      throw GGUFError.unsupportedModelFeature(
        "the folder's tokenizer (\(path))", supported: "a byte-level BPE tokenizer.json")
    }
    let pre = json["pre_tokenizer"] as? [String: Any] ?? [:]
    var name: String?
    if pre["type"] as? String == "ByteLevel" && pre["use_regex"] as? Bool != false {
      name = "gpt-2"
    } else if pre["type"] as? String == "Sequence", let parts = pre["pretokenizers"] as? [[String: Any]],
      parts.count == 2, let regex = (parts[0]["pattern"] as? [String: Any])?["Regex"] as? String
    {
      name = BPETokenizer.ggufPreTokenizers.first { $0.value == regex && $0.key != "default" }?.key
    }
    guard let name else {
      throw GGUFError.unsupportedModelFeature(
        "the folder's pre-tokenizer",
        supported: "GPT-2's byte-level regex, or Llama 3's or Qwen2's split regex")
    }
    var tokens = [String](repeating: "", count: (vocab.values.max() ?? -1) + 1)
    var types = [Int32](repeating: 1, count: tokens.count)
    for (token, id) in vocab where id >= 0 { tokens[id] = token }
    for added in json["added_tokens"] as? [[String: Any]] ?? [] {
      guard let id = added["id"] as? Int, let content = added["content"] as? String else { continue }
      if id >= tokens.count {
        tokens += [String](repeating: "", count: id + 1 - tokens.count)
        types += [Int32](repeating: 1, count: id + 1 - types.count)
      }
      (tokens[id], types[id]) = (content, added["special"] as? Bool == true ? 3 : 4)
    }
    // Up to the model's vocabulary, as llama.cpp's converter pads it.
    for id in tokens.count..<max(tokens.count, self.model.vocabulary) {
      tokens.append("[PAD\(id)]")
      types.append(5)
    }
    let pairs = merges.compactMap { merge -> String? in
      (merge as? String) ?? (merge as? [String]).map { $0.joined(separator: " ") }
    }
    return [
      ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string(name)),
      ("tokenizer.ggml.tokens", .strings(tokens)), ("tokenizer.ggml.token_type", .i32s(types)),
      ("tokenizer.ggml.merges", .strings(pairs)),
    ]
  }

  /// Every tensor of the checkpoint under its GGUF name, held ones in their format.
  func ggufTensors(_ architecture: GGUFArchitecture) throws -> [GGUFWriter.Tensor] {
    let (family, layers) = (checkpoint.family, checkpoint.layerCount)
    let experts = checkpoint.architecture.moe?.routedExperts ?? 0
    let candidates =
      ["token_embd.weight", "output_norm.weight", "output.weight"]
      + (0..<layers).flatMap { i in
        GGUFArchitecture.layerTensorKinds.flatMap { ["blk.\(i).\($0).weight", "blk.\(i).\($0).bias"] }
      }
    let held = checkpoint.ledger.compactMatrices
    var tensors: [GGUFWriter.Tensor] = []
    var written = Set<String>()
    for gguf in candidates {
      let names = architecture.huggingFaceNames(of: gguf, family: family, experts: experts)
      guard !names.isEmpty, names.allSatisfy({ checkpoint.weights.contains($0.name) }) else { continue }
      let permuted = architecture.permutesQueryKey && architecture.isQueryOrKey(gguf)
      let heads = try checkpoint.checked {
        try checkpoint.config.int(
          gguf.contains(".attn_k.") ? "num_key_value_heads" : "num_attention_heads")
      }
      var parts: [(GGMLType, [Int], [UInt8])] = []
      for (name, _) in names {
        written.insert(name)
        let shape = try checkpoint.weights.shape(of: name)
        let order = permuted ? Self.interleavedRotaryOrder(rows: shape[0], heads: heads) : nil
        if let matrix = held[name] {
          let stored = order.map { matrix.gatheringRows($0) } ?? matrix
          guard let bytes = stored.ggmlBytes(), let type = GGMLType.holding(matrix.format) else {
            throw GGUFError.unsupportedModelFeature(
              "\(name) held as \(matrix.format.rawValue) with rows of \(matrix.columns)",
              supported: "rows of whole blocks of 32 for q8 and q4")
          }
          parts.append((type, [matrix.columns, matrix.rows], bytes))
        } else {
          var values = try checkpoint.weights.matrix(name, as: Float.self)
          if let order {  // a bias's elements are its rows
            values =
              shape.count == 1
              ? Matrix(rows: 1, columns: order.count, elements: order.map { values.elements[$0] })
              : values.gatheringRows(order)
          }
          let bytes = values.elements.flatMap { value in
            withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init)
          }
          parts.append((.f32, shape.reversed(), bytes))
        }
      }
      guard Set(parts.map(\.0)).count == 1, Set(parts.map(\.1)).count == 1 else {
        throw GGUFError.unsupportedModelFeature(
          "experts of \(gguf) held in different formats", supported: "one format for all experts of a layer")
      }
      let dimensions = names.count > 1 ? parts[0].1 + [names.count] : parts[0].1
      tensors.append(.init(name: gguf, type: parts[0].0, dimensions: dimensions, bytes: parts.flatMap(\.2)))
    }
    if let left = checkpoint.weights.names.first(where: { !written.contains($0) }) {
      throw GGUFError.unsupportedModelFeature(
        "tensor \"\(left)\"", supported: "the \(architecture.name) architecture's tensors")
    }
    return tensors
  }

  /// GGUF row `h·d + 2i + j` of a head of `d` rows is `transformers`' row `h·d + j·d/2 + i`.
  static func interleavedRotaryOrder(rows: Int, heads: Int) -> [Int] {
    let size = rows / heads
    return (0..<rows).map { row in
      let (head, within) = (row / size, row % size)
      return head * size + (within % 2) * (size / 2) + within / 2
    }
  }
}

extension GGMLType {
  /// The ggml type that holds a `WeightMatrix` format's numbers.
  static func holding(_ format: WeightMatrix.Format) -> GGMLType? {
    allCases.first { $0.weightFormat == format }
  }
}
