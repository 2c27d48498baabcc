import Foundation
import Linalg
import MoE
import ModelIO
import Testing
import _TestSupport

/// The examples, run as a user would run them.
@Suite struct ExamplesTests {
  @Test func moeTourPrintsEveryLayer() throws {
    let result = try ProductRunner.run("moe-tour", ["--tokens", "64", "--dimensions", "16"])
    #expect(result.status == 0, "\(result.errors)")
    for layer in 0..<7 { #expect(result.output.contains("Layer \(layer):")) }
    #expect(result.output.contains("expert choice"))
    #expect(result.output.contains("dropped assignments"))
  }

  @Test func moeTourRejectsBadOptions() throws {
    let result = try ProductRunner.run("moe-tour", ["--experts", "6"])
    #expect(result.status != 0)
    #expect(result.errors.contains("multiple of 8"))
    let k = try ProductRunner.run("moe-tour", ["--top-k", "9"])
    #expect(k.status != 0 && k.errors.contains("--top-k"))
  }

  @Test func gemmBenchQuickRunPrintsItsTables() throws {
    let result = try ProductRunner.run("gemm-bench", ["--quick", "--repetitions", "1"])
    #expect(result.status == 0, "\(result.errors)")
    #expect(result.output.contains("Linalg/direct"))
    #expect(result.output.contains("automatic picks"))
    #expect(result.output.contains("GEMV"))
    let bad = try ProductRunner.run("gemm-bench", ["--threads", "0"])
    #expect(bad.status != 0 && bad.errors.contains("--threads"))
  }

  /// `--format json`: one object whose tables are arrays of records with numeric cells.
  @Test func gemmBenchWritesJSON() throws {
    let result = try ProductRunner.run("gemm-bench", ["--quick", "--repetitions", "1", "--format", "json"])
    #expect(result.status == 0, "\(result.errors)")
    let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
    let gemm = object?["gemm"] as? [[String: Any]] ?? []
    #expect(gemm.count == 5 && gemm.allSatisfy { ($0["Linalg/direct"] as? Double ?? 0) > 0 })
    for key in ["grouped", "gemv", "few_rows", "activations"] {
      #expect(object?[key] is [[String: Any]], "\(key)")
    }
    #expect(object?["threads"] as? Int ?? 0 >= 1)
  }
}

@Suite struct DenseVsSparseTests {
  /// A --quick run prints every configuration and the figures the goals judge, but no
  /// verdict: the goals are set for the full sizes.
  @Test func quickRunPrintsEveryConfigurationAndTheFiguresUnjudged() throws {
    let result = try ProductRunner.run("dense-vs-sparse", ["--quick", "--repetitions", "1"])
    #expect(result.status == 0, "\(result.errors)")
    for name in ["C1", "C2", "C3", "C4"] { #expect(result.output.contains("\(name) — "), "missing \(name)") }
    #expect(result.output.contains("bandwidth ideal ms"))
    #expect(result.output.contains("MoE backward ÷ forward (C1 shape)"))
    #expect(result.output.contains("not judged") && !result.output.contains("| met"))
    #expect(!result.output.contains("(goal") && !result.output.contains("| goal"))
  }

  /// One JSON object per configuration, batch size and thread count, with the fields the
  /// issue names, parsed back.
  @Test func jsonHasOneObjectPerConfigurationBatchAndThreadCount() throws {
    let result = try ProductRunner.run(
      "dense-vs-sparse",
      ["--quick", "--repetitions", "1", "--config", "C3,C1", "--threads", "1,2", "--format", "json"])
    #expect(result.status == 0, "\(result.errors)")
    let objects = try #require(
      try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]])
    #expect(objects.count == 2 * 2 + 1 * 2)
    for object in objects {
      for key in [
        "config", "threads", "moe_ms", "dense_equal_active_ms", "dense_equal_total_ms", "ratio_to_ideal",
      ] {
        #expect(object[key] != nil && !(object[key] is NSNull), "\(key) missing in \(object)")
      }
      let decode = object["config"] as? String == "C3"
      #expect((object["bandwidth_ideal_ms"] is NSNull) != decode)
    }
  }

  @Test func badOptionsAreRejected() throws {
    let unknown = try ProductRunner.run("dense-vs-sparse", ["--config", "C9"])
    #expect(unknown.status != 0 && unknown.errors.contains("C9"))
    let threads = try ProductRunner.run("dense-vs-sparse", ["--threads", "1,x"])
    #expect(threads.status != 0 && threads.errors.contains("--threads"))
    let k = try ProductRunner.run("dense-vs-sparse", ["--config", "C1", "--top-k", "9"])
    #expect(k.status != 0 && k.errors.contains("--top-k"))
  }
}

@Suite struct AttentionBenchTests {
  @Test func quickRunPrintsEverySectionAndTheCacheAgreesWithTheCostModel() throws {
    let result = try ProductRunner.run("attention-bench", ["--quick", "--repetitions", "1"])
    #expect(result.status == 0, "\(result.errors)")
    for title in ["Decode:", "KV cache per token", "Generation:", "Prefill:"] {
      #expect(result.output.contains(title), "missing \(title)")
    }
    #expect(result.output.contains("| yes "))
    #expect(!result.output.contains("| NO "))
  }

  @Test func badOptionsAreRejected() throws {
    let fractions = try ProductRunner.run("attention-bench", ["--fractions", "0.5,1.5"])
    #expect(fractions.status != 0 && fractions.errors.contains("--fractions"))
    let heads = try ProductRunner.run("attention-bench", ["--kv-heads", "3"])
    #expect(heads.status != 0 && heads.errors.contains("--kv-heads"))
  }
}

@Suite struct CostTablesTests {
  static let zoo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("CostModelTests/Fixtures/zoo").path

  /// The zoo as JSON records, largest total first; by active share on request; a broken
  /// config beside good ones is named and fails the run after the table of the others.
  @Test func zooComparesEveryConfigOfAFolder() throws {
    let result = try ProductRunner.run("cost-tables", ["--zoo", Self.zoo, "--format", "json"])
    #expect(result.status == 0, "\(result.errors)")
    let rows = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]] ?? []
    #expect(rows.count == 23)
    let totals = rows.compactMap { $0["total_parameters"] as? Double }
    #expect(totals == totals.sorted(by: >) && rows.first?["model"] as? String == "DeepSeek-V3.2")
    let byShare = try ProductRunner.run("cost-tables", ["--zoo", Self.zoo, "--sort", "share"])
    #expect(byShare.output.contains("| Mixtral-8x7B ") && byShare.output.contains("23 models"))
    let bad = try ProductRunner.run("cost-tables", ["--zoo", Self.zoo, "--sort", "size"])
    #expect(bad.refused(naming: "--sort"))

    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-zoo-\(UInt64.random(in: 0..<1 << 40))")
    defer { try? FileManager.default.removeItem(at: folder) }
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try FileManager.default.copyItem(
      atPath: Self.zoo + "/Mixtral-8x7B/config.json",
      toPath: folder.appendingPathComponent("mixtral.json").path)
    try Data("{\"model_type\": \"nonesuch\"}".utf8).write(to: folder.appendingPathComponent("odd.json"))
    let mixed = try ProductRunner.run("cost-tables", ["--zoo", folder.path])
    #expect(mixed.output.contains("| mixtral ") && mixed.output.contains("1 models"))
    #expect(mixed.refused(naming: "odd.json"), "\(mixed.errors)")
  }

  @Test func printsEverySectionWithoutMeasuring() throws {
    let result = try ProductRunner.run("cost-tables", ["--no-measure"])
    #expect(result.status == 0, "\(result.errors)")
    for title in [
      "Table 1 under the article's convention", "Table 1 under exact accounting", "The article's claims",
      "Table 2 recomputed",
    ] {
      #expect(result.output.contains(title), "missing \(title)")
    }
    #expect(!result.output.contains("Measured here"))
  }

  @Test func costsAHuggingFaceConfigAsJSON() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-\(UInt64.random(in: 0..<1 << 40))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let config = folder.appendingPathComponent("config.json")
    try Data(
      #"{"model_type": "mixtral", "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "num_local_experts": 8, "num_experts_per_tok": 2}"#
        .utf8
    ).write(to: config)
    let result = try ProductRunner.run("cost-tables", ["--config", config.path, "--format", "json"])
    #expect(result.status == 0, "\(result.errors)")
    let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
    #expect(object?["total_parameters"] as? Int == 46_702_792_704)
    #expect(object?["active_parameters"] as? Int == 12_879_925_248)
    #expect(object?["active_parameters_excluding_embeddings"] != nil)
    // For people: units and a few digits, not raw doubles.
    let table = try ProductRunner.run("cost-tables", ["--config", config.path])
    #expect(table.status == 0, "\(table.errors)")
    for text in ["| total_parameters ", "46.70 B", "12.88 B", " GB |", " GFLOP |", " ms |", "tokens/s |"] {
      #expect(table.output.contains(text), "missing \(text)")
    }
    let longNumber = try Regex(#"\d\.\d{5,}"#)
    #expect(table.output.firstMatch(of: longNumber) == nil, "\(table.output)")
    // The registry says whether MoEKit also runs it.
    #expect(table.errors.contains("note: moe-generate loads it (the mixtral family)"), "\(table.errors)")
    try Data(
      #"{"model_type": "dbrx", "d_model": 64, "n_heads": 4, "n_layers": 2, "vocab_size": 100, "ffn_config": {}}"#
        .utf8
    )
    .write(to: config)
    let dbrx = try ProductRunner.run("cost-tables", ["--config", config.path])
    #expect(dbrx.status == 0 && dbrx.errors.contains("note: costed only"), "\(dbrx.errors)")
  }

  @Test func rejectsBadInputWithAMessage() throws {
    let missing = try ProductRunner.run("cost-tables", ["--config", "/nonexistent/config.json"])
    #expect(missing.status != 0 && missing.errors.contains("cannot read"))
    let dtype = try ProductRunner.run("cost-tables", ["--dtype", "fp64"])
    #expect(dtype.status != 0 && dtype.errors.contains("--dtype"))
    let hardware = try ProductRunner.run("cost-tables", ["--hardware", "tpu"])
    #expect(hardware.status != 0 && hardware.errors.contains("--hardware"))
  }

  @Test func csvAndJSONFormatsParse() throws {
    let json = try ProductRunner.run("cost-tables", ["--no-measure", "--format", "json"])
    #expect(json.status == 0)
    let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
    #expect(Set(object?.keys ?? [:].keys) == ["table1_convention", "table1_exact", "claims", "table2"])
    let csv = try ProductRunner.run("cost-tables", ["--no-measure", "--format", "csv"])
    #expect(csv.status == 0 && csv.output.contains("# Table 2"))
  }
}

@Suite struct RoutingCollapseTests {
  @Test func shortRunWritesItsTableCSVAndSVG() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-collapse-\(UInt64.random(in: 0..<1 << 40))")
    defer { try? FileManager.default.removeItem(at: folder) }
    let result = try ProductRunner.run(
      "routing-collapse",
      ["--seeds", "1", "--steps", "3", "--batch", "16", "--output-dir", folder.path])
    #expect(result.status == 0, "\(result.errors)")
    #expect(result.output.contains("| no balancing") && result.output.contains("| expert choice"))
    let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    #expect(files.contains("loads-no-balancing.csv") && files.contains("loads-no-balancing.svg"))
    let csv = try String(
      contentsOfFile: folder.appendingPathComponent("loads-no-balancing.csv").path, encoding: .utf8)
    #expect(csv.hasPrefix("step,layer,expert_0") && csv.split(separator: "\n").count == 1 + 3 * 2)
  }

  @Test func rejectsBadOptions() throws {
    let k = try ProductRunner.run("routing-collapse", ["--top-k", "9"])
    #expect(k.status != 0 && k.errors.contains("--top-k"))
    let rate = try ProductRunner.run("routing-collapse", ["--learning-rate", "-1"])
    #expect(rate.status != 0 && rate.errors.contains("--learning-rate"))
  }
}

@Suite struct ExpertMemoryTests {
  @Test func quickRunServesThroughTheCacheAndWritesTheChart() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-expert-memory-\(UInt64.random(in: 0..<1 << 40))")
    defer { try? FileManager.default.removeItem(at: folder) }
    let result = try ProductRunner.run("expert-memory", ["--quick", "--output-dir", folder.path])
    #expect(result.status == 0, "\(result.errors)")
    #expect(result.output.contains("largest difference from the model in memory 0.0"))
    #expect(result.output.contains("| Zipf 1.0") && result.output.contains("| LFU"))
    let svg = try String(contentsOfFile: folder.appendingPathComponent("hit-rate.svg").path, encoding: .utf8)
    #expect(svg.hasPrefix("<svg") && svg.contains("LRU + prefetch"))
  }

  /// q4 experts held by the cache: the same float32-byte budget holds all 16 experts of the
  /// quick model (a quarter of them in float32), and the sizes given beside `--quick` are
  /// honoured.
  @Test func servesCompactExpertsAndHonoursSizesBesideQuick() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-expert-memory-\(UInt64.random(in: 0..<1 << 40))")
    defer { try? FileManager.default.removeItem(at: folder) }
    let result = try ProductRunner.run(
      "expert-memory", ["--quick", "--weight-format", "q4", "--layers", "3", "--output-dir", folder.path])
    #expect(result.status == 0, "\(result.errors)")
    #expect(result.output.contains("through 3 MoE layers of 8 experts"))
    #expect(result.output.contains("q4 weights") && result.output.contains("room for all 24 experts"))
    let bad = try ProductRunner.run("expert-memory", ["--weight-format", "q3"])
    #expect(bad.status != 0 && bad.errors.contains("--weight-format"))
  }

  @Test func rejectsBadOptions() throws {
    for (option, value) in [("--layers", "1000"), ("--dimensions", "1000000000"), ("--tokens", "0")] {
      let result = try ProductRunner.run("expert-memory", [option, value])
      #expect(result.status != 0 && result.errors.contains(option), "\(option) \(value): \(result.errors)")
    }
    let k = try ProductRunner.run("expert-memory", ["--top-k", "40"])
    #expect(k.status != 0 && k.errors.contains("--top-k"))
    let accuracy = try ProductRunner.run("expert-memory", ["--prediction-accuracy", "1.5"])
    #expect(accuracy.status != 0 && accuracy.errors.contains("--prediction-accuracy"))
  }
}

@Suite struct ExpertFinetuneTests {
  @Test func quickRunPrintsEveryRule() throws {
    let result = try ProductRunner.run("expert-finetune", ["--quick"])
    #expect(result.status == 0, "\(result.errors)")
    for rule in [
      "full fine-tuning", "router only", "router + 2 most-used experts", "router + 2 new experts",
      "router + rank-8 LoRA on 2 experts",
    ] {
      #expect(result.output.contains("| \(rule)"), "missing \(rule)")
    }
    let bad = try ProductRunner.run("expert-finetune", ["--top-k", "0"])
    #expect(bad.status != 0 && bad.errors.contains("--top-k"))
  }
}

@Suite struct MoEBenchTests {
  @Test func quickRunPrintsTheRatio() throws {
    let result = try ProductRunner.run("moe-bench", ["--quick", "--repetitions", "1"])
    #expect(result.status == 0, "\(result.errors)")
    #expect(result.output.contains("backward/forward = ") && !result.output.contains("goal"))
    let bad = try ProductRunner.run("moe-bench", ["--top-k", "0"])
    #expect(bad.status != 0 && bad.errors.contains("--top-k"))
  }
}

@Suite struct MoERunTests {
  @Test func runsAQwenLayerAndWritesOutputAndRouting() throws {
    let fixture = try MoERunFixture()
    let path = fixture.path
    let result = try ProductRunner.run(
      "moe-run", fixture.arguments + ["--output", path("y.npy"), "--routing", path("routing.json")])
    #expect(result.status == 0, "\(result.errors)")
    #expect(
      try NpyArray(contentsOfFile: path("y.npy")).matrix(as: Float.self) == fixture.layer(fixture.input))
    let routing =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("routing.json"))))
      as? [String: Any]
    #expect((routing?["tokens"] as? [Any])?.count == 5)

    let wrong = try ProductRunner.run(
      "moe-run", fixture.arguments(layer: 3) + ["--output", path("z.npy")])
    #expect(wrong.status != 0 && wrong.errors.contains("outside 0..<1"))
    #expect(!FileManager.default.fileExists(atPath: path("z.npy")))
  }

  /// A GGUF file needs no `--config`: its layer 1 (experts in Q4_K and Q6_K where they lie)
  /// gives what the loaded model's block gives; a safetensors file without `--config`, or a
  /// GGUF file with one, is a one-line error.
  @Test func runsALayerOfAGGUFFile() throws {
    let fixture = try MoERunFixture()
    let path = fixture.path
    let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("ModelIOTests/Fixtures/gguf/models/qwen3_moe-Q4_K_M.gguf").path
    let checkpoint = try HuggingFaceCheckpoint(gguf: try GGUFFile(contentsOfFile: model))
    guard case .moe(let layer) = try checkpoint.feedForward(layer: 1, as: Float.self) else {
      Issue.record("layer 1 of \(model) is not MoE")
      return
    }
    var g = Xoshiro256StarStar(seed: 4)
    try NpyArray(Matrix<Float>.normal(rows: 6, columns: checkpoint.width, using: &g)).write(to: path("g.npy"))
    let run = try ProductRunner.run(
      "moe-run",
      ["--weights", model, "--layer", "1", "--input", path("g.npy"), "--output", path("gy.npy")])
    #expect(run.status == 0, "\(run.errors)")
    let x = try NpyArray(contentsOfFile: path("g.npy")).matrix(as: Float.self)
    var (context, workspace) = (RoutingContext(), MoEWorkspace<Float>())
    #expect(
      try NpyArray(contentsOfFile: path("gy.npy")).matrix(as: Float.self)
        == layer.forward(x, context: &context, workspace: &workspace).output)

    let configured = try ProductRunner.run(
      "moe-run",
      [
        "--config", path("config.json"), "--weights", model, "--layer", "1", "--input", path("g.npy"),
        "--output", path("c.npy"),
      ])
    #expect(configured.status != 0 && configured.errors.contains("not for a GGUF file"))
    let unconfigured = try ProductRunner.run(
      "moe-run",
      [
        "--weights", path("model.safetensors"), "--layer", "0", "--input", path("x.npy"), "--output",
        path("u.npy"),
      ])
    #expect(unconfigured.status != 0 && unconfigured.errors.contains("--config is required"))
  }
}

/// A one-layer `qwen3_moe` checkpoint (d 8, 4 experts of 6, top-2) and a 5-token input in
/// a fresh folder, removed when the fixture goes.
final class MoERunFixture {
  let folder: URL
  let layer: MoELayer<Float>
  let input: Matrix<Float>
  let tensors: [String: Tensor]

  init() throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-run-\(UInt64.random(in: 0..<1 << 40))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    var g = Xoshiro256StarStar(seed: 1)
    let (d, h, e) = (8, 6, 4)
    let gate = Linear<Float>.routerGate(dimensions: d, expertCount: e, using: &g)
    let experts = (0..<e).map { _ in FeedForward<Float>(dimensions: d, hiddenDimensions: h, using: &g) }
    layer = MoELayer(router: TopKSoftmaxRouter(gate: gate, k: 2, normalizeTopK: true), experts: experts)
    var tensors = ["model.layers.0.mlp.gate.weight": Tensor(gate.weight.value, as: .f32)]
    for (j, expert) in experts.enumerated() {
      for (name, linear) in [("gate_proj", expert.gate!), ("up_proj", expert.up), ("down_proj", expert.down)]
      {
        tensors["model.layers.0.mlp.experts.\(j).\(name).weight"] = Tensor(linear.weight.value, as: .f32)
      }
    }
    self.tensors = tensors
    input = Matrix<Float>.normal(rows: 5, columns: d, using: &g)
    try SafeTensorsWriter.write(tensors, to: path("model.safetensors"))
    let config =
      #"{"model_type": "qwen3_moe", "hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 32, "num_attention_heads": 2, "intermediate_size": 16, "moe_intermediate_size": 6, "num_experts": 4, "num_experts_per_tok": 2, "norm_topk_prob": true}"#
    _ = FileManager.default.createFile(atPath: path("config.json"), contents: Data(config.utf8))
    try NpyArray(input).write(to: path("x.npy"))
  }

  deinit { try? FileManager.default.removeItem(at: folder) }

  func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

  /// `--config`, `--weights`, `--layer` and `--input` for the fixture's files.
  var arguments: [String] { arguments(layer: 0) }

  func arguments(layer: Int, input: String = "x.npy", weights: String = "model.safetensors") -> [String] {
    [
      "--config", path("config.json"), "--weights", path(weights), "--layer", "\(layer)", "--input",
      path(input),
    ]
  }

  /// Every entry in the folder (temporaries included), with the bytes of regular files.
  func snapshot() throws -> [String: Data] {
    var files: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
      let type = try FileManager.default.attributesOfItem(atPath: path(name))[.type] as? FileAttributeType
      files[name] = type == .typeRegular ? try Data(contentsOf: URL(fileURLWithPath: path(name))) : Data()
    }
    return files
  }
}

/// `--profile`: the prefill and an average decode step, operation by operation.
@Suite struct ProfileTests {
  @Test func moeGenerateProfilesPrefillAndDecode() throws {
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("ModelIOTests/Fixtures/models/qwen2_moe").path
    let result = try ProductRunner.run(
      "moe-generate", ["--model", folder, "--token-ids", "3,17,42", "--max-new-tokens", "4", "--profile"])
    #expect(result.status == 0, "\(result.errors)")
    for text in [
      "| prefill operation", "| decode operation", "| experts ", "| shared expert ", "| other ", "| step ",
    ] {
      #expect(result.errors.contains(text), "missing \(text) in \(result.errors)")
    }
  }
}

@Suite struct FuzzCorpusTests {
  /// Every seed and every input that once crashed a parser replays without a crash.
  @Test(arguments: ["safetensors", "npy", "config", "tokenizer", "gguf"])
  func corpusReplaysCleanly(target: String) throws {
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus/\(target)")
    let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).map {
      folder.appendingPathComponent($0).path
    }
    #expect(!files.isEmpty)
    let result = try ProductRunner.run("fuzz-\(target)", files)
    #expect(result.status == 0, "\(result.errors)")
    #expect(result.output.contains("replayed \(files.count) inputs"))
  }
}

@Suite struct MoELMTests {
  /// The three studies on the installed text, at a smoke-test size: every table row is
  /// there, the files are written, and bits per byte are sensible numbers.
  @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/games/fortunes/pratchett")))
  func quickRunPrintsTheThreeStudies() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-lm-\(UInt64.random(in: 0..<1 << 40))"
    ).path
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let result = try ProductRunner.run(
      "moe-lm", ["--quick", "--steps", "10", "--collapse-seeds", "1", "--output-directory", folder])
    #expect(result.status == 0, "\(result.errors)")
    for row in [
      "| Dense ", "| Dense ×10", "| MoE 8×top-2", "| MoE 16×top-2", "| fine-grained 62×top-6 + 2 shared",
      "| no balancing", "| expert choice", "| noisy top-k", "| full fine-tuning", "| router + 2 new experts",
    ] {
      #expect(result.output.contains(row), "missing \(row)")
    }
    let files = try FileManager.default.contentsOfDirectory(atPath: folder)
    #expect(files.contains("quality-per-flop.svg") && files.contains("finetune.csv"))
    #expect(files.filter { $0.hasPrefix("loads-") }.count == 12)
    for checkpoint in ["llama-dense", "mixtral-8x-top2"] {
      let model = try HuggingFaceModel(folder: "\(folder)/checkpoints/\(checkpoint)")
      #expect(model.model.vocabulary == 256)
      // The byte tokenizer beside it: token b is byte b.
      let text = "Héllo, wörld\n\t~"
      #expect(try model.tokenizer?.encode(text) == Array(text.utf8).map(Int.init))
      #expect(try model.tokenizer?.decode(Array(text.utf8).map(Int.init)) == text)
    }
    let csv = try String(contentsOfFile: folder + "/quality-per-flop.csv", encoding: .utf8)
    let bits = csv.split(separator: "\n").dropFirst().compactMap { Double($0.split(separator: ",").last!) }
    #expect(bits.count == 5 && bits.allSatisfy { $0 > 1 && $0 < 8.5 }, "\(bits)")
    let bad = try ProductRunner.run("moe-lm", ["--studies", "quality,speed"])
    #expect(bad.refused(naming: "--studies"))
  }

  /// A user's own text trains (study 1 only, so the second domain is not needed); a file too
  /// short for one window, and a missing one, are refused naming the option and the path.
  @Test func trainsOnAUsersOwnText() throws {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-lm-text-\(UInt64.random(in: 0..<1 << 40))")
    try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: base) }
    let paragraphs = (0..<200).map { i in
      "Paragraph \(i): the expert router sends token \(i * 7 % 13) to expert \(i % 8).\nIt is line two."
    }
    let text = base.appendingPathComponent("mine.txt").path
    try Data(paragraphs.joined(separator: "\n\n").utf8).write(to: URL(fileURLWithPath: text))
    let folder = base.appendingPathComponent("out").path
    let result = try ProductRunner.run(
      "moe-lm",
      [
        "--text", text, "--studies", "quality", "--models", "moe-8, dense", "--quick", "--steps", "10",
        "--context", "16", "--output-directory", folder,
      ])
    #expect(result.status == 0, "\(result.errors)")
    #expect(result.output.contains("| MoE 8×top-2") && !result.output.contains("| MoE 16×top-2"))
    let unknown = try ProductRunner.run("moe-lm", ["--text", text, "--models", "moe-8,moe-64"])
    #expect(unknown.refused(naming: "--models"), "\(unknown.errors)")
    #expect(result.output.contains("text: \(text): "), "\(result.output)")
    #expect(result.output.contains("not a recorded text"))
    #expect(result.output.contains("Quality per FLOP (mine.txt text"))
    let short = base.appendingPathComponent("short.txt").path
    try Data("one\n\ntwo\n\nthree".utf8).write(to: URL(fileURLWithPath: short))
    let tooShort = try ProductRunner.run("moe-lm", ["--text", short, "--studies", "quality"])
    #expect(tooShort.refused(naming: "--text \(short)"), "\(tooShort.errors)")
    let missing = try ProductRunner.run(
      "moe-lm", ["--second-domain", base.path + "/none", "--studies", "finetune"])
    #expect(missing.refused(naming: "--second-domain \(base.path)/none"), "\(missing.errors)")
  }
}
