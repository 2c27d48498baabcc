import CostModel
import Foundation
import Linalg
import MoE
import ModelIO
import Testing

/// Whole models written by `transformers` (scripts/make-model-fixtures.py) must give its
/// logits and greedy continuations, and cached decoding must equal recomputing the prefix.
@Suite struct HuggingFaceModelTests {
  static let families = [
    "llama", "llama-llama3-rope", "llama-linear-rope", "llama-yarn-rope", "mistral", "mixtral", "qwen2_moe",
    "qwen3_moe", "olmoe", "deepseek_v2", "deepseek_v2-greedy-yarn", "deepseek_v3", "deepseek_v3-no-q-lora",
    "glm4_moe", "glm4_moe-no-qk-norm", "deepseek", "deepseek_v2-lite", "ernie4_5_moe", "dots1",
    "hunyuan_v1_moe", "gpt_oss", "llama4_text", "granitemoe", "phimoe", "qwen3_next", "jamba",
  ]

  struct Reference: Decodable {
    var prompt: [Int]
    var generated: [Int]
  }

  static func folder(_ family: String) -> String { Fixtures.path("models/\(family)") }

  static func reference(_ family: String) throws -> (Reference, Matrix<Float>) {
    let json = try Data(contentsOf: URL(fileURLWithPath: folder(family) + "/reference.json"))
    let logits = try NpyArray(contentsOfFile: folder(family) + "/logits.npy").matrix(as: Float.self)
    return (try JSONDecoder().decode(Reference.self, from: json), logits)
  }

  /// `max |a − b| / max |b|`.
  static func relativeError(_ a: Matrix<Float>, _ b: Matrix<Float>) -> Float {
    var (difference, largest): (Float, Float) = (0, 0)
    for r in 0..<b.rows {
      for c in 0..<b.columns {
        difference = max(difference, abs(a[r, c] - b[r, c]))
        largest = max(largest, abs(b[r, c]))
      }
    }
    return difference / largest
  }

  /// The registry is the list everything reads: one family per `model_type`, each with a
  /// fixture `transformers` wrote (or, for remote code, the published modeling code's
  /// computation) that this suite checks, each costed by `CostModel` and listed in the README.
  @Test func everyRegisteredFamilyHasAFixtureACostAndADocLine() throws {
    let types = ModelFamilyRegistry.modelTypes
    #expect(Set(types).count == types.count, "\(types)")
    let readme = try String(
      contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "../../README.md"), encoding: .utf8)
    for family in ModelFamilyRegistry.families {
      #expect(Self.families.contains(family.modelType), "\(family.modelType) has no fixture in the suite")
      #expect(
        HuggingFaceConfig.supportedModelTypes.contains(family.modelType), "\(family.modelType) is not costed")
      #expect(
        !family.summary.isEmpty && readme.contains("`\(family.modelType)`"), "\(family.modelType) in README")
      #expect(ModelFamilyRegistry.family(family.modelType)?.modelType == family.modelType)
    }
  }

  /// A Hugging Face cache's layout: the snapshot's files are relative links into `blobs/`.
  /// The model loads through them, tokenizer included.
  @Test func loadsAHuggingFaceCacheSnapshot() throws {
    let cache = TemporaryFolder()
    let blobs = cache.path("blobs")
    let snapshot = cache.path("snapshots/0123abcd")
    try FileManager.default.createDirectory(atPath: blobs, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
    let files = [
      ("config.json", Self.folder("llama") + "/config.json"),
      ("model.safetensors", Self.folder("llama") + "/model.safetensors"),
      ("tokenizer.json", Fixtures.path("tokenizers/gpt2.json")),
    ]
    for (i, (name, source)) in files.enumerated() {
      try FileManager.default.copyItem(atPath: source, toPath: blobs + "/blob\(i)")
      try FileManager.default.createSymbolicLink(
        atPath: snapshot + "/" + name, withDestinationPath: "../../blobs/blob\(i)")
    }
    let linked = try HuggingFaceModel(folder: snapshot)
    let direct = try HuggingFaceModel(folder: Self.folder("llama"))
    #expect(linked.tokenizer != nil)
    #expect(
      linked.model.logits([1, 2, 3], layout: .single(3)).elements
        == direct.model.logits([1, 2, 3], layout: .single(3)).elements)
  }

  /// The estimate of the held weights, made before loading, is the memory the loaded model's
  /// weights take in each format that converts every product (the fixtures are float32,
  /// which `stored` and `float32` use in place); a budget below it refuses the model naming
  /// what it needs.
  @Test(arguments: families, [HuggingFaceCheckpoint.LoadedWeightFormat.bf16, .q8, .q4])
  func heldBytesAreEstimatedBeforeLoading(family: String, format: HuggingFaceCheckpoint.LoadedWeightFormat)
    throws
  {
    var checkpoint = try HuggingFaceCheckpoint(
      configFile: Self.folder(family) + "/config.json",
      weightsFile: Self.folder(family) + "/model.safetensors")
    checkpoint.weightFormat = format
    let estimate = try checkpoint.estimatedHeldBytes()
    let loaded = try HuggingFaceModel(folder: Self.folder(family), weightFormat: format)
    let held = loaded.weightBytes
    #expect(
      abs(Double(estimate - held)) <= 0.1 * Double(held), "\(family) \(format): \(estimate) against \(held)")
    #expect(
      throws: CheckpointError.insufficientMemory(
        path: Self.folder(family), heldAs: format.rawValue, needed: estimate, budget: estimate - 1)
    ) {
      try HuggingFaceModel(folder: Self.folder(family), weightFormat: format, memoryBudget: estimate - 1)
    }
  }

  /// `generation_config.json`'s end tokens (a list) replace `config.json`'s, as in
  /// transformers' `generate`; without `eos_token_id` there, `config.json`'s stand; a bad one is
  /// an error naming the file.
  @Test func generationConfigEndTokensStopGeneration() throws {
    let folder = TemporaryFolder()
    for name in ["config.json", "model.safetensors"] {
      try FileManager.default.copyItem(atPath: Self.folder("llama") + "/" + name, toPath: folder.path(name))
    }
    let generation = URL(fileURLWithPath: folder.path("generation_config.json"))
    try Data(#"{"bos_token_id": 1, "eos_token_id": [5, 7]}"#.utf8).write(to: generation)
    #expect(try HuggingFaceModel(folder: folder.path("")).endOfSequence == [5, 7])
    try Data(#"{"bos_token_id": 1}"#.utf8).write(to: generation)
    let fromConfig = try HuggingFaceModel(folder: Self.folder("llama")).checkpoint.endOfSequenceIds()
    #expect(try HuggingFaceModel(folder: folder.path("")).endOfSequence == fromConfig)
    for bad in [#"{"eos_token_id": "two"}"#, #"{"eos_token_id": [1, 100000]}"#, "{not json"] {
      try Data(bad.utf8).write(to: generation)
      #expect(throws: CheckpointError.self) { try HuggingFaceModel(folder: folder.path("")) }
      do {
        _ = try HuggingFaceModel(folder: folder.path(""))
      } catch {
        #expect("\(error)".contains("generation_config.json"), "\(error)")
      }
    }
  }

  /// Weights read into memory (`FileAccess.read`) give the same logits as mapped ones.
  @Test func readWeightsEqualMappedOnes() throws {
    let mapped = try HuggingFaceModel(folder: Self.folder("deepseek_v3"))
    let read = try HuggingFaceModel(folder: Self.folder("deepseek_v3"), access: .read)
    let prompt = [3, 1, 4, 1, 5]
    #expect(
      mapped.model.logits(prompt, layout: .single(5)).elements
        == read.model.logits(prompt, layout: .single(5)).elements)
  }

  @Test(arguments: families) func logitsMatchTransformers(family: String) throws {
    let loaded = try HuggingFaceModel(folder: Self.folder(family))
    let (reference, expected) = try Self.reference(family)
    let logits = loaded.model.logits(reference.prompt, layout: .single(reference.prompt.count))
    #expect(logits.rows == expected.rows && logits.columns == expected.columns, "\(family)")
    let error = Self.relativeError(logits, expected)
    #expect(error <= 1e-4, "\(family): logits differ from transformers' by \(error) of the largest")
  }

  @Test(arguments: families) func greedyContinuationMatchesTransformers(family: String) throws {
    let loaded = try HuggingFaceModel(folder: Self.folder(family))
    let (reference, _) = try Self.reference(family)
    let generated = try loaded.model.generate(prompt: reference.prompt, count: reference.generated.count)
    #expect(generated == reference.generated, "\(family)")
  }

  @Test(arguments: families) func cachedDecodingEqualsRecomputing(family: String) throws {
    let model = try HuggingFaceModel(folder: Self.folder(family)).model
    let (reference, _) = try Self.reference(family)
    let tokens = reference.prompt + reference.generated
    let full = model.logits(tokens, layout: .single(tokens.count))
    var caches = model.makeCaches()
    var elements = model.decode(Array(tokens.prefix(5)), caches: &caches).elements
    for token in tokens.dropFirst(5) { elements += model.decode([token], caches: &caches).elements }
    let error = Self.relativeError(
      Matrix(rows: tokens.count, columns: full.columns, elements: elements), full)
    #expect(error <= 1e-5, "\(family): cached decoding differs by \(error)")
  }

  /// `CostModel` reads the same `config.json`: its total must be the number of scalars
  /// `transformers` saved (every module's parameters and buffers, the head once if tied).
  @Test(arguments: families) func costModelCountsEveryTensorOnce(family: String) throws {
    let architecture = try HuggingFaceConfig.architecture(
      contentsOfFile: Self.folder(family) + "/config.json")
    let file = try SafeTensorsFile(contentsOfFile: Self.folder(family) + "/model.safetensors")
    let saved = file.names.reduce(0) { $0 + file.tensors[$1]!.count }
    #expect(architecture.totalParameters == saved, "\(family)")
  }

  @Test func reportsEndOfSequenceAndTokenizer() throws {
    let loaded = try HuggingFaceModel(folder: Self.folder("qwen2_moe"))
    #expect(loaded.endOfSequence == [])  // Qwen2MoeConfig writes eos_token_id null
    #expect(loaded.tokenizer?.vocabularySize == 512)
    #expect(try HuggingFaceModel(folder: Self.folder("olmoe")).endOfSequence == [2])
    #expect(try HuggingFaceModel(folder: Self.folder("llama")).tokenizer == nil)
  }

  // MARK: Compact weights

  /// A bf16 checkpoint held as bf16 (products on the compact bytes) computes what the same
  /// checkpoint widened to Float computes, holding about half the bytes.
  @Test(arguments: ["llama", "mixtral", "qwen2_moe", "deepseek_v3", "glm4_moe", "ernie4_5_moe", "gpt_oss"])
  func bf16CheckpointsRunCompact(family: String) throws {
    let folder = try edited(family, as: .bf16)
    let compact = try HuggingFaceModel(folder: folder.path(""))
    let widened = try HuggingFaceModel(folder: folder.path(""), weightFormat: .float32)
    let (reference, _) = try Self.reference(family)
    let layout = SequenceLayout.single(reference.prompt.count)
    let error = Self.relativeError(
      compact.model.logits(reference.prompt, layout: layout),
      widened.model.logits(reference.prompt, layout: layout))
    #expect(error <= 1e-5, "\(family): compact and widened bf16 logits differ by \(error)")
    #expect(
      try compact.model.generate(prompt: reference.prompt, count: 8)
        == widened.model.generate(prompt: reference.prompt, count: 8))
    #expect(Double(compact.weightBytes) < 0.62 * Double(widened.weightBytes), "\(family)")
  }

  /// Rounding a float32 checkpoint to bf16 at load keeps the logits within bf16's error.
  @Test func float32CheckpointsRoundToBF16OnRequest() throws {
    let (reference, expected) = try Self.reference("qwen3_moe")
    let rounded = try HuggingFaceModel(folder: Self.folder("qwen3_moe"), weightFormat: .bf16)
    let error = Self.relativeError(
      rounded.model.logits(reference.prompt, layout: .single(reference.prompt.count)), expected)
    #expect(error > 1e-6 && error < 0.03, "bf16 rounding moved the logits by \(error)")
  }

  /// Weights quantized at load compute exactly what a Float model holding the
  /// dequantized weights computes (the compact products are right) when integer dot
  /// products, which also quantize the activations, are off; with them the logits stay
  /// finite; either way the model holds fewer bytes.
  /// (How far quantization moves a model is a property of the model — these fixtures are
  /// built for decisive greedy choices, not for routing margins — and `quant-bench`
  /// measures it on layers.)
  @Test(
    arguments: ["mixtral", "deepseek_v3", "glm4_moe"], [HuggingFaceCheckpoint.LoadedWeightFormat.q8, .q4])
  func quantizedAtLoad(family: String, format: HuggingFaceCheckpoint.LoadedWeightFormat) throws {
    let (reference, _) = try Self.reference(family)
    let quantized = try HuggingFaceModel(folder: Self.folder(family), weightFormat: format)
    let held: WeightMatrix.Format = format == .q8 ? .q8 : .q4
    let exact = quantized.model.convertingWeights(to: held, integerDotProducts: false)
    let twin = quantized.model.convertingWeights(to: nil)
    let layout = SequenceLayout.single(reference.prompt.count)
    let error = Self.relativeError(
      exact.logits(reference.prompt, layout: layout), twin.logits(reference.prompt, layout: layout))
    #expect(error <= 1e-5, "\(family) \(format): \(error)")
    let finite = quantized.model.logits(reference.prompt, layout: layout).elements.allSatisfy { $0.isFinite }
    #expect(finite)
    let full = try HuggingFaceModel(folder: Self.folder(family))
    #expect(
      Double(quantized.weightBytes) < (format == .q8 ? 0.5 : 0.35) * Double(full.weightBytes), "\(family)")
    #expect(full.model.convertingWeights(to: held).weightBytes == quantized.weightBytes)
  }

  // MARK: Errors

  /// A copy of a fixture's folder, its tensors stored as `dataType`, with `edit` applied to
  /// its tensors and config.
  func edited(
    _ family: String, as dataType: SafeTensorsDataType = .f32,
    tensors edit: (inout [String: Tensor]) -> Void = { _ in },
    config: (inout [String: Any]) -> Void = { _ in }
  ) throws -> TemporaryFolder {
    let folder = TemporaryFolder()
    let source = try SafeTensorsFile(contentsOfFile: Self.folder(family) + "/model.safetensors")
    var tensors: [String: Tensor] = [:]
    for name in source.names {
      let info = source.tensors[name]!
      // Fused 3-D expert tensors (float32 in the fixtures) as one matrix of their rows.
      let matrix =
        info.shape.count == 3
        ? Matrix(
          rows: info.shape[0] * info.shape[1], columns: info.shape[2],
          elements: Array(try source.rawBytes(name).bindMemory(to: Float.self)))
        : try source.matrix(name, as: Float.self)
      tensors[name] = Tensor(matrix, shape: info.shape, as: dataType)
    }
    edit(&tensors)
    try SafeTensorsWriter.write(tensors, to: folder.path("model.safetensors"))
    var json =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: Self.folder(family) + "/config.json"))) as! [String: Any]
    config(&json)
    try JSONSerialization.data(withJSONObject: json).write(
      to: URL(fileURLWithPath: folder.path("config.json")))
    return folder
  }

  func loadError(_ folder: TemporaryFolder) -> String {
    do {
      _ = try HuggingFaceModel(folder: folder.path(""))
      return "loaded"
    } catch {
      return "\(error)"
    }
  }

  @Test func missingTensorIsNamed() throws {
    let folder = try edited("mixtral") { $0["model.layers.2.block_sparse_moe.experts.3.w2.weight"] = nil }
    #expect(
      loadError(folder) == "the weights lack tensor \"model.layers.2.block_sparse_moe.experts.3.w2.weight\"")
  }

  @Test func extraTensorIsNamed() throws {
    let folder = try edited("llama") {
      $0["model.layers.0.self_attn.q_proj.bias"] = Tensor(
        Matrix<Float>(rows: 1, columns: 64), shape: [64], as: .f32)
    }
    #expect(loadError(folder).contains("model.layers.0.self_attn.q_proj.bias"))
  }

  @Test func configThatContradictsTheWeightsIsNamed() throws {
    let folder = try edited("qwen3_moe") { _ in
    } config: {
      $0["moe_intermediate_size"] = 40
    }
    #expect(
      loadError(folder).contains(
        "model.layers.1.mlp.experts.0.gate_proj.weight\" has shape [32, 64], but the config implies [40, 64]")
    )
  }

  @Test func unknownRopeKindIsRefused() throws {
    let folder = try edited("llama") { _ in
    } config: {
      $0["rope_parameters"] = ["rope_type": "longrope", "rope_theta": 10000.0]
    }
    #expect(loadError(folder).contains("rope_parameters.rope_type\" is longrope"))
  }

  /// Values that would reach a library precondition are config errors naming the field, and
  /// are checked before any tensor is shaped by them (so the weights are not blamed).
  @Test(arguments: [
    ("deepseek_v2", "qk_rope_head_dim", "0", "\"qk_rope_head_dim\" is 0 rotated of 0"),
    ("deepseek_v2", "qk_rope_head_dim", "3", "\"qk_rope_head_dim\" is 3 rotated of 3"),
    (
      "deepseek_v2-greedy-yarn", "rope_parameters.attention_factor", "-1.0",
      "\"rope_parameters.attention_factor\" is -1.0"
    ),
    ("deepseek_v2-greedy-yarn", "rope_parameters.beta_fast", "\"fast\"", "rope_parameters"),
    ("hunyuan_v1_moe", "rope_parameters.alpha", "0", "\"rope_parameters.alpha\" is 0.0"),
    ("phimoe", "router_jitter_noise", "-0.5", "\"router_jitter_noise\" is -0.5"),
    ("granitemoe", "logits_scaling", "0", "\"logits_scaling\" is 0.0"),
    ("qwen3_next", "linear_num_value_heads", "3", "linear_num_value_heads"),
    ("ernie4_5_moe", "moe_layer_end_index", "-2", "moe_layer_end_index"),
    ("llama4_text", "attention_chunk_size", "null", "attention_chunk_size"),
    ("gpt_oss", "layer_types", "[\"sliding_attention\"]", "layer_types"),
    ("hunyuan_v1_moe", "rope_parameters.alpha", "null", "\"rope_parameters.rope_type\" is dynamic"),
    ("dots1", "layer_types", "[\"full_attention\"]", "layer_types"),
    (
      "dots1", "layer_types", "[\"full_attention\", \"chunked\", \"full_attention\"]",
      "\"layer_types[1]\" is chunked"
    ),
  ])
  func configValuesThatWouldTrapAreNamed(family: String, field: String, json text: String, message: String)
    throws
  {
    let value = try JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)
    let folder = try edited(family) { _ in
    } config: { json in
      let path = field.split(separator: ".").map(String.init)
      if path.count == 2 {
        var nested = (json[path[0]] ?? json["rope_scaling"]) as? [String: Any] ?? [:]
        nested[path[1]] = value
        json[path[0]] = nested
        json["rope_scaling"] = nil
      } else {
        json[field] = value
      }
    }
    let error = loadError(folder)
    #expect(error.contains(message), "\(error)")
    #expect(!error.contains("shape"), "\(error)")
  }

  /// gpt-oss's published experts are MXFP4 (`…_blocks`, `…_scales`): refused by name, not
  /// misread; a swiglu_limit that is not positive is a config error.
  @Test func gptOSSRefusesMXFP4ExpertsAndBadClamps() throws {
    let mxfp4 = try edited("gpt_oss") { tensors in
      for (name, tensor) in tensors where name.hasSuffix("experts.gate_up_proj") {
        tensors[name + "_blocks"] = tensor
        tensors[name] = nil
      }
    }
    #expect(loadError(mxfp4).contains("gate_up_proj_blocks\" is MXFP4"), "\(loadError(mxfp4))")
    let limit = try edited("gpt_oss") { _ in
    } config: {
      $0["swiglu_limit"] = -1.0
    }
    #expect(loadError(limit).contains("swiglu_limit"), "\(loadError(limit))")
  }

  /// Llama 4's per-layer lists default as `transformers` makes them: without `layer_types`,
  /// `no_rope_layers` and `moe_layers`, the intervals give the same model.
  @Test func llama4DefaultsRebuildItsLayerLists() throws {
    let folder = try edited("llama4_text") { _ in
    } config: {
      for key in ["layer_types", "no_rope_layers", "moe_layers"] { $0[key] = nil }
      $0["no_rope_layer_interval"] = 2
    }
    let (reference, expected) = try Self.reference("llama4_text")
    let model = try HuggingFaceModel(folder: folder.path("")).model
    let error = Self.relativeError(
      model.logits(reference.prompt, layout: .single(reference.prompt.count)), expected)
    #expect(error < 1e-4, "\(error)")
    let wrong = try edited("llama4_text") { _ in
    } config: {
      $0["no_rope_layers"] = [1, 0]
    }
    #expect(loadError(wrong).contains("no_rope_layers"), "\(loadError(wrong))")
  }

  /// Hunyuan-A13B's config says `model_type: hunyuan` with `architectures:
  /// [HunYuanMoEV1ForCausalLM]`: it loads as `hunyuan_v1_moe`.
  @Test func hunyuanRemoteCodeTypeLoads() throws {
    let folder = try edited("hunyuan_v1_moe") { _ in
    } config: {
      $0["model_type"] = "hunyuan"
    }
    #expect(try HuggingFaceModel(folder: folder.path("")).checkpoint.modelType == "hunyuan_v1_moe")
  }

  /// Kimi-K2's config says `model_type: kimi_k2` with `architectures: [DeepseekV3ForCausalLM]`:
  /// it loads as DeepSeek-V3, with the same logits.
  @Test func remoteCodeModelTypesLoadAsTheirArchitecture() throws {
    let folder = try edited("deepseek_v3") { _ in
    } config: {
      $0["model_type"] = "kimi_k2"
      $0["architectures"] = ["DeepseekV3ForCausalLM"]
    }
    let kimi = try HuggingFaceModel(folder: folder.path(""))
    let deepSeek = try HuggingFaceModel(folder: Self.folder("deepseek_v3"))
    #expect(kimi.checkpoint.modelType == "deepseek_v3")
    #expect(
      kimi.model.logits([3, 1, 4], layout: .single(3)).elements
        == deepSeek.model.logits([3, 1, 4], layout: .single(3)).elements)
  }

  /// A family MoEKit does not load is named by both fields, with the supported list.
  @Test func unsupportedModelTypeListsTheSupportedOnes() throws {
    let folder = try edited("llama") { _ in
    } config: {
      $0["model_type"] = "gemma"
      $0["architectures"] = ["GemmaForCausalLM"]
    }
    let error = loadError(folder)
    #expect(error.contains("model_type \"gemma\" (architectures GemmaForCausalLM) has no loader"), "\(error)")
    #expect(error.contains("supported: llama"))
  }

  /// A config that is a folder or a FIFO (which would block a plain read) is a one-line
  /// error naming it.
  @Test func unreadableConfigsAreNamedNotHung() throws {
    let folder = try edited("llama")
    try FileManager.default.removeItem(atPath: folder.path("config.json"))
    try FileManager.default.createDirectory(
      atPath: folder.path("config.json"), withIntermediateDirectories: false)
    #expect(loadError(folder).contains("config.json: it is a folder, not a regular file"))
    try FileManager.default.removeItem(atPath: folder.path("config.json"))
    #expect(mkfifo(folder.path("config.json"), 0o600) == 0)
    #expect(loadError(folder).contains("not a regular file"))
  }

  @Test func missingFolderAndFiles() throws {
    #expect(
      throws: CheckpointError.unreadableModel(
        path: "/nonexistent-moekit", reason: "no such folder or GGUF file")
    ) {
      try HuggingFaceModel(folder: "/nonexistent-moekit")
    }
    let empty = TemporaryFolder()
    #expect(loadError(empty).contains("it has no config.json"))
  }

  /// An AWQ or GPTQ checkpoint (plain weights gone, their own tensors in place) is refused by
  /// its quantization's name, not reported as a missing tensor.
  @Test(arguments: ["awq", "gptq"]) func foreignQuantizationIsNamedBeforeTensors(method: String) throws {
    let folder = try edited("llama") { tensors in
      let name = "model.layers.0.self_attn.q_proj"
      tensors[name + ".weight"] = nil
      for part in ["qweight", "qzeros", "scales"] {
        tensors[name + "." + part] = Tensor(Matrix<Float>(rows: 1, columns: 8), shape: [1, 8], as: .f32)
      }
    } config: {
      $0["quantization_config"] = ["quant_method": method, "bits": 4, "group_size": 128]
    }
    let error = loadError(folder)
    #expect(error.contains("quant_method\" is \(method)"), "\(error)")
  }
}

/// Models saved as they are held (bf16, q8, q4) load back to the same network, and bad
/// quantized files are refused by name.
@Suite struct CompactCheckpointTests {
  static let prompt = [3, 17, 42, 99, 7, 256, 300, 11]

  func logits(_ model: DecoderModel<Float>) -> Matrix<Float> {
    model.logits(Self.prompt, layout: .single(Self.prompt.count))
  }

  /// Qwen2-MoE (with a tokenizer), and the families whose query/key rows are reordered at load
  /// (ERNIE 4.5's interleaved RoPE, DeepSeek-V3's MLA): saved in the stored order, reordered
  /// again when loaded.
  @Test(
    arguments: ["qwen2_moe", "ernie4_5_moe", "deepseek_v3"],
    [HuggingFaceCheckpoint.LoadedWeightFormat.bf16, .q8, .q4])
  func savedModelsLoadBackIdentically(family: String, format: HuggingFaceCheckpoint.LoadedWeightFormat) throws
  {
    let folder = TemporaryFolder()
    let held = try HuggingFaceModel(folder: HuggingFaceModelTests.folder(family), weightFormat: format)
    try held.save(to: folder.path("saved"))
    let loaded = try HuggingFaceModel(folder: folder.path("saved"))
    #expect(loaded.weightBytes == held.weightBytes)
    #expect(logits(loaded.model) == logits(held.model), "\(family) \(format)")
    #expect((loaded.tokenizer != nil) == (family == "qwen2_moe"))
    let widened = try HuggingFaceModel(folder: folder.path("saved"), weightFormat: .float32)
    #expect(logits(widened.model) == logits(held.model.convertingWeights(to: nil)))
    // Saved again from the quantized folder: the same bytes.
    try loaded.save(to: folder.path("again"))
    #expect(
      FileManager.default.contents(atPath: folder.path("again/model.safetensors"))
        == FileManager.default.contents(atPath: folder.path("saved/model.safetensors")))
  }

  @Test func savingRefusesExistingAndMissingFolders() throws {
    let folder = TemporaryFolder()
    let model = try HuggingFaceModel(folder: HuggingFaceModelTests.folder("llama"))
    try FileManager.default.createDirectory(atPath: folder.path("there"), withIntermediateDirectories: true)
    #expect(throws: CheckpointError.self) { try model.save(to: folder.path("there")) }
    #expect(throws: CheckpointError.self) { try model.save(to: folder.path("missing/below")) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path("")) == ["there"])
  }

  /// A q8 copy of a fixture with `edit` applied to its config and tensors.
  func quantizedCopy(
    config edit: (inout [String: Any]) -> Void = { _ in },
    tensors: (inout [String: Tensor]) -> Void = { _ in }
  ) throws -> TemporaryFolder {
    let folder = TemporaryFolder()
    try HuggingFaceModel(folder: HuggingFaceModelTests.folder("llama"), weightFormat: .q8).save(
      to: folder.path("m"))
    var json =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: folder.path("m/config.json"))))
      as! [String: Any]
    edit(&json)
    try JSONSerialization.data(withJSONObject: json).write(
      to: URL(fileURLWithPath: folder.path("m/config.json")))
    let file = try SafeTensorsFile(contentsOfFile: folder.path("m/model.safetensors"))
    var all: [String: Tensor] = [:]
    for name in file.names {
      let info = file.tensors[name]!
      all[name] = Tensor(dataType: info.dataType, shape: info.shape, bytes: Array(try file.rawBytes(name)))
    }
    tensors(&all)
    try SafeTensorsWriter.write(all, to: folder.path("m/model.safetensors"))
    return folder
  }

  func loadError(_ folder: TemporaryFolder) -> String {
    do {
      _ = try HuggingFaceModel(folder: folder.path("m"))
      return "loaded"
    } catch { return "\(error)" }
  }

  @Test func foreignOrBrokenQuantizationIsRefused() throws {
    #expect(
      loadError(
        try quantizedCopy(config: { $0["quantization_config"] = ["quant_method": "gptq", "bits": 4] })
      )
      .contains("quant_method\" is gptq"))
    #expect(
      loadError(try quantizedCopy(config: { $0["quantization_config"] = nil })).contains(
        "quantization_config"))
    #expect(
      loadError(
        try quantizedCopy(config: { $0["quantization_config"] = ["quant_method": "moekit", "format": "q3"] })
      ).contains("format\" is q3"))
    #expect(
      loadError(
        try quantizedCopy(config: {
          $0["quantization_config"] = ["quant_method": "moekit", "format": "q8", "block_size": 64]
        })
      ).contains("block_size\" is 64"))
    let name = "model.layers.0.mlp.up_proj.weight"
    #expect(
      loadError(try quantizedCopy(tensors: { $0[name + ".scales"] = nil })).contains("\(name).scales"))
    #expect(
      loadError(
        try quantizedCopy(tensors: {
          $0[name + ".qweight"] = Tensor(
            dataType: .u8, shape: [96, 32], bytes: [UInt8](repeating: 0, count: 96 * 32))
        })
      ).contains("\(name).qweight\" has shape [96, 32]"))
  }
}
