import Foundation
import Linalg
import MoE
import Testing

@testable import ModelIO

/// Whole models from GGUF files that llama.cpp's own converter and `llama-quantize` wrote
/// (scripts/make-gguf-fixtures.sh) give llama.cpp's logits on the same prompt.
@Suite struct GGUFModelTests {
  static let prompt = [3, 17, 42, 99, 7, 256, 300, 11, 5, 480, 64, 128]

  static func path(_ model: String) -> String { Fixtures.path("gguf/models/\(model).gguf") }

  /// `max |a − b| / max |b|`.
  static func relativeError(_ a: Matrix<Float>, _ b: Matrix<Float>) -> Float {
    zip(a.elements, b.elements).map { abs($0 - $1) }.max()! / b.elements.map(abs).max()!
  }

  static func logits(_ model: String, _ format: HuggingFaceCheckpoint.LoadedWeightFormat = .stored) throws
    -> Matrix<Float>
  {
    try HuggingFaceModel(folder: path(model), weightFormat: format).model.logits(
      prompt, layout: .single(prompt.count))
  }

  static func theirs(_ model: String) throws -> Matrix<Float> {
    try NpyArray(contentsOfFile: Fixtures.path("gguf/models/\(model).logits.npy")).matrix(as: Float.self)
  }

  /// Float32 files (Mixtral as llama.cpp's "llama" architecture, with its query and key rows
  /// permuted; Qwen3-MoE with per-head q/k norms and a tied head; gpt-oss with sinks, sliding
  /// layers, biased experts and YaRN rounded as ggml rounds it; GLM-4.5 with sigmoid routing, a
  /// selection bias and scale, a shared expert, a dense first layer, partial RoPE and a
  /// prediction layer in its block count; DeepSeek-V2 and V3 with latent attention whose
  /// `kv_b_proj` comes back from llama.cpp's two halves, softmax or sigmoid routing with groups,
  /// and V3's YaRN with DeepSeek's mscale): llama.cpp rounds nothing but
  /// its float arithmetic, and MoEKit agrees to float rounding (1e-5 of the largest logit).
  @Test(arguments: [
    "mixtral-small-F32", "qwen3_moe-small-F32", "gpt_oss-small-F32", "glm4_moe-small-F32",
    "deepseek_v2-small-F32",
    "deepseek_v3-small-F32",
  ])
  func floatFilesGiveLlamaCppsLogits(
    model: String
  )
    throws
  {
    let (ours, theirs) = (try Self.logits(model), try Self.theirs(model))
    #expect(ours.rows == Self.prompt.count && ours.columns == theirs.columns)
    #expect(Self.relativeError(ours, theirs) < 1e-5, "\(model)")
  }

  /// Quantized files (Q8_0, and Q4_K_M's Q4_K and Q6_K), their blocks used where they lie: both
  /// engines round the activations to 8 bits for these products (llama.cpp per 32 or 256,
  /// MoEKit per 32), which alone moves these random models' logits by 4–6 % of the largest
  /// against exact products of the same weights (and can flip a close route); the two engines
  /// agree within 6 % of the largest logit (measured 2.3–5.2 %).
  @Test(arguments: ["mixtral-Q8_0", "mixtral-Q4_K_M", "qwen3_moe-Q4_K_M", "gpt_oss-small-MXFP4_MOE"])
  func quantizedFilesAgreeWithLlamaCpp(
    model: String
  ) throws {
    let loaded = try HuggingFaceModel(folder: Self.path(model))
    // Held compact: the weights take the file's bytes but for the embedding, which is Float
    // (Float everywhere would take 3.5–7× the file).
    let fileBytes = try FileManager.default.attributesOfItem(atPath: Self.path(model))[.size] as! Int
    #expect(
      loaded.weightBytes <= fileBytes + 4 * 512 * 256, "\(model): \(loaded.weightBytes) of \(fileBytes)")
    let ours = loaded.model.logits(Self.prompt, layout: .single(Self.prompt.count))
    #expect(Self.relativeError(ours, try Self.theirs(model)) < 0.06, "\(model)")
  }

  /// The tokenizer in the file (llama.cpp's converter wrote it from the gpt2 tokenizer
  /// fixture) encodes and decodes every fixture line as `tokenizers` does with the original.
  @Test func tokenizerFromMetadataIsTheOriginal() throws {
    let tokenizer = try #require(try HuggingFaceModel(folder: Self.path("mixtral-Q8_0")).tokenizer)
    let cases = try JSONDecoder().decode(
      [BPETokenizerTests.Case].self,
      from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("tokenizers/gpt2-cases.json"))))
    var mismatches: [String] = []
    for c in cases where try tokenizer.encode(c.text) != c.ids || tokenizer.decode(c.ids) != c.decoded {
      mismatches.append(c.text)
    }
    #expect(
      cases.count > 3000 && mismatches.isEmpty,
      "\(mismatches.count) lines differ, first \(mismatches.prefix(3))")
  }

  /// A SentencePiece vocabulary (`tokenizer.ggml.model` "llama": tokens, scores and types,
  /// as llama.cpp's converter writes a `tokenizer.model`) encodes every fixture line to the ids
  /// llama.cpp's own tokenizer gives (special tokens in the text parsed), decodes them to the
  /// text llama.cpp gives back, and puts the BOS first when special tokens are asked for.
  @Test func sentencePieceVocabularyTokenizesAsLlamaCpp() throws {
    let file = try GGUFFile(contentsOfFile: Fixtures.path("gguf/tokenizers/spm.gguf"))
    let tokenizer = try #require(try BPETokenizer(gguf: file))
    let cases = try JSONDecoder().decode(
      [BPETokenizerTests.Case].self,
      from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("gguf/tokenizers/spm-cases.json"))))
    var (encoded, decoded) = ([String](), [String]())
    for c in cases {
      if try tokenizer.encode(c.text) != c.ids { encoded.append(c.text) }
      if try tokenizer.decode(c.ids) != c.decoded { decoded.append(c.text) }
    }
    #expect(cases.count > 3000)
    #expect(encoded.isEmpty, "\(encoded.count) lines encode differently, first \(encoded.prefix(3))")
    #expect(decoded.isEmpty, "\(decoded.count) lines decode differently, first \(decoded.prefix(3))")
    #expect(try tokenizer.encode("日本語 😀").contains { $0 == tokenizer.id(of: "<0xF0>") })
    #expect(
      try tokenizer.encode("hello", addSpecialTokens: true).first
        == file.metadata["tokenizer.ggml.bos_token_id"]?.integer)
  }

  /// A model written as GGUF loads back with the logits it had as held: Mixtral in float32
  /// (its query and key rows permuted and back), OLMoE held as q8 (written as Q8_0) and as bf16;
  /// with the folder's tokenizer written as `tokenizer.ggml.*`. Qwen3-MoE with a dense layer has
  /// no place in a `qwen3moe` file and is refused.
  @Test(arguments: [("mixtral", "float32"), ("olmoe", "q8"), ("olmoe", "bf16")]) func writtenFilesLoadBack(
    family: String, format: String
  ) throws {
    let folder = TemporaryFolder()
    let source = folder.path("model")
    try FileManager.default.copyItem(atPath: Fixtures.path("models/\(family)"), toPath: source)
    try FileManager.default.copyItem(
      atPath: Fixtures.path("tokenizers/gpt2.json"), toPath: source + "/tokenizer.json")
    let held = try HuggingFaceModel(folder: source, weightFormat: .init(rawValue: format)!)
    try held.saveGGUF(to: folder.path("model.gguf"))
    let loaded = try HuggingFaceModel(folder: folder.path("model.gguf"))
    let prompt = Array(Self.prompt.prefix(8))
    let difference = Self.relativeError(
      loaded.model.logits(prompt, layout: .single(prompt.count)),
      held.model.logits(prompt, layout: .single(prompt.count)))
    #expect(difference == 0, "\(family) \(format)")
    #expect(loaded.weightBytes == held.weightBytes)
    let text = "def fibonacci(n): return n if n < 2 else 42 <|endoftext|>"
    #expect(try loaded.tokenizer?.encode(text) == held.tokenizer?.encode(text))
  }

  /// A Llama with query and key biases (the linear-RoPE fixture read with default RoPE): the
  /// biases are permuted with their rows on the way out and back on the way in.
  @Test func queryAndKeyBiasesTravelWithTheirRows() throws {
    let folder = TemporaryFolder()
    let source = folder.path("model")
    try FileManager.default.copyItem(atPath: Fixtures.path("models/llama-linear-rope"), toPath: source)
    let configPath = source + "/config.json"
    var config =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath)))
      as! [String: Any]
    config["rope_parameters"] = ["rope_type": "default", "rope_theta": 500.0]
    try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
    let held = try HuggingFaceModel(folder: source)
    try held.saveGGUF(to: folder.path("model.gguf"))
    let loaded = try HuggingFaceModel(folder: folder.path("model.gguf"))
    let prompt = Array(Self.prompt.prefix(8))
    #expect(
      Self.relativeError(
        loaded.model.logits(prompt, layout: .single(prompt.count)),
        held.model.logits(prompt, layout: .single(prompt.count))) == 0)
    let file = try GGUFFile(contentsOfFile: folder.path("model.gguf"))
    #expect(file.tensors["blk.0.attn_q.bias"] != nil && file.tensors["blk.0.attn_k.bias"] != nil)
  }

  /// The q4_K_M recipe keeps value and down projections at Q6_K in the layers llama.cpp gives
  /// more bits (here the second of two) and the head, the rest at Q4_K: its bits per weight lie
  /// between the two formats', which each give their own.
  @Test func theQ4KMRecipeMixesTwoFormats() throws {
    let path = Self.path("mixtral-Q8_0")
    let bits = try [HuggingFaceCheckpoint.LoadedWeightFormat.q4K, .q6K, .q4KM].map {
      try #require(try HuggingFaceModel(folder: path, weightFormat: $0).compactBitsPerWeight)
    }
    #expect(bits[0] == 4.5 && bits[1] == 6.5625)
    // Rows of 256: layer 0 all Q4_K (q, o 256; k, v 128; the experts' gate and up 8 × 256, down
    // 4 × 256); layer 1 the same but v and the experts' down in Q6_K; the head (512) in Q6_K.
    let q6 = (128 + 4 * 256 + 512) * 256
    let q4 = (2 * 256 + 2 * 128 + 12 * 256 + 2 * 256 + 128 + 8 * 256) * 256
    #expect(abs(bits[2] - (6.5625 * Double(q6) + 4.5 * Double(q4)) / Double(q6 + q4)) < 1e-9, "\(bits)")
    let printed = try HuggingFaceModel(folder: path, weightFormat: .q4KM)
    #expect(printed.model.logits([1, 2, 3], layout: .single(3)).rows == 3)
  }

  /// The recipe chooses, tensor by tensor, what llama.cpp's `llama-quantize` chose for the
  /// fixtures it wrote as Q4_K_M (the embedding aside: MoEKit keeps it `Float`).
  @Test(arguments: ["mixtral-Q4_K_M", "qwen3_moe-Q4_K_M"]) func theQ4KMRecipeIsLlamaCpps(model: String) throws
  {
    let loaded = try HuggingFaceModel(folder: Self.path(model))
    let checkpoint = loaded.checkpoint
    let experts = try #require(checkpoint.architecture.moe?.routedExperts)
    let held = checkpoint.ledger.compactMatrices.filter { !$0.key.contains("embed_tokens") }
    #expect(held.count > 10)
    for (name, matrix) in held {
      let ours = HuggingFaceCheckpoint.LoadedWeightFormat.q4KMFormat(
        name, layers: checkpoint.layerCount, experts: experts)
      #expect(ours == matrix.format, "\(name): \(ours.rawValue), llama.cpp \(matrix.format.rawValue)")
    }
  }

  /// For models of exactly 8 experts llama.cpp also moves key and value projections to Q8_0 and
  /// output projections to Q5_K; value and down projections follow the layer rule otherwise.
  @Test func theQ4KMRecipeFollowsLlamaCppsLayerAndExpertRules() {
    let format = HuggingFaceCheckpoint.LoadedWeightFormat.q4KMFormat
    let moreBits = [
      true, true, false, false, true, false, false, true, false, false, true, false, false,
      true, true, true,
    ]  // 16 layers: the first and last two, and every third between from layer 4
    for layer in 0..<16 {
      let prefix = "model.layers.\(layer)."
      let expected: WeightMatrix.Format = moreBits[layer] ? .q6K : .q4K
      #expect(format(prefix + "self_attn.v_proj.weight", 16, 64) == expected, "layer \(layer)")
      #expect(format(prefix + "mlp.experts.3.down_proj.weight", 16, 64) == expected, "layer \(layer)")
      #expect(format(prefix + "self_attn.v_proj.weight", 16, 8) == .q8)
      #expect(format(prefix + "self_attn.k_proj.weight", 16, 8) == .q8)
      #expect(format(prefix + "self_attn.k_proj.weight", 16, 64) == .q4K)
      #expect(format(prefix + "self_attn.o_proj.weight", 16, 8) == .q5K)
      #expect(format(prefix + "mlp.experts.3.gate_proj.weight", 16, 8) == .q4K)
    }
    #expect(format("lm_head.weight", 16, 8) == .q6K)
  }

  @Test func modelsGGUFCannotHoldAreRefused() throws {
    let folder = TemporaryFolder()
    let dense = try HuggingFaceModel(folder: Fixtures.path("models/qwen3_moe"))
    #expect(throws: GGUFError.self) { try dense.saveGGUF(to: folder.path("a.gguf")) }
    let other = try HuggingFaceModel(folder: Fixtures.path("models/deepseek_v3"))
    #expect(throws: GGUFError.self) { try other.saveGGUF(to: folder.path("b.gguf")) }
    // gpt-oss loads from GGUF, but its fused experts are not written as one.
    let fused = try HuggingFaceModel(folder: Fixtures.path("models/gpt_oss"))
    #expect(throws: GGUFError.self) { try fused.saveGGUF(to: folder.path("c.gguf")) }
    #expect(!FileManager.default.fileExists(atPath: folder.path("a.gguf")))
  }

  @Test func unmappedArchitecturesAndMissingMetadataAreNamed() throws {
    let file = try GGUFFile(contentsOfFile: Fixtures.path("gguf/types.gguf"))  // "llama", no model in it
    #expect(throws: GGUFError.tensorNotFound("token_embd.weight")) { try HuggingFaceCheckpoint(gguf: file) }
    #expect(throws: CheckpointError.self) { try HuggingFaceModel(folder: "/nonexistent/model.gguf") }
    #expect(
      GGUFArchitecture.all.map(\.name) == [
        "llama", "qwen3moe", "qwen2moe", "olmoe", "gpt-oss", "glm4moe", "deepseek2",
      ])
    #expect(GGUFArchitecture.writable.map(\.name) == ["llama", "qwen3moe", "qwen2moe", "olmoe"])
  }
}
