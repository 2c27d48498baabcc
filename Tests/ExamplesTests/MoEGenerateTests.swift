import Foundation
import Linalg
import ModelIO
import Testing
import _TestSupport

/// `moe-generate` on the checkpoints `transformers` wrote: the documented outputs, and a
/// one-line error (with nothing written) for each bad argument.
@Suite struct MoEGenerateTests {
  static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("ModelIOTests/Fixtures/models")

  static func model(_ family: String) -> String { models.appendingPathComponent(family).path }

  struct Reference: Decodable {
    var prompt: [Int]
    var generated: [Int]
  }

  static func reference(_ family: String) throws -> Reference {
    try JSONDecoder().decode(
      Reference.self, from: Data(contentsOf: URL(fileURLWithPath: model(family) + "/reference.json")))
  }

  @Test func writesTheLogitsOfEveryPromptPosition() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-generate-\(UInt64.random(in: 0..<1 << 40))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let output = folder.appendingPathComponent("logits.npy").path
    let reference = try Self.reference("mixtral")
    let result = try ProductRunner.run(
      "moe-generate",
      [
        "--model", Self.model("mixtral"), "--token-ids",
        reference.prompt.map(String.init).joined(separator: ","),
        "--logits", output,
      ])
    #expect(result.status == 0, "\(result.errors)")
    let logits = try NpyArray(contentsOfFile: output).matrix(as: Float.self)
    let expected = try NpyArray(contentsOfFile: Self.model("mixtral") + "/logits.npy").matrix(as: Float.self)
    #expect(logits.rows == reference.prompt.count && logits.columns == 512)
    var worst: Float = 0
    for r in 0..<logits.rows {
      for c in 0..<logits.columns { worst = max(worst, abs(logits[r, c] - expected[r, c])) }
    }
    #expect(worst < 1e-3)
  }

  /// The greedy continuation transformers wrote, with the weights mapped and read into memory.
  @Test(arguments: [[], ["--no-mmap"]]) func printsTheGreedyContinuationAsJSON(access: [String]) throws {
    let reference = try Self.reference("qwen3_moe")
    let result = try ProductRunner.run(
      "moe-generate",
      [
        "--model", Self.model("qwen3_moe"), "--token-ids",
        reference.prompt.map(String.init).joined(separator: ","),
        "--max-new-tokens", "\(reference.generated.count)", "--format", "json",
      ] + access)
    #expect(result.status == 0, "\(result.errors)")
    let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
    #expect(object?["generated"] as? [Int] == reference.generated)
  }

  @Test func streamsTextFromAPromptAndReportsSpeed() throws {
    let result = try ProductRunner.run(
      "moe-generate",
      ["--model", Self.model("qwen2_moe"), "--prompt", "def main():", "--max-new-tokens", "6"])
    #expect(result.status == 0, "\(result.errors)")
    #expect(result.output.contains("tokens/s") && result.output.contains("2 of 8 + 1 shared"))
  }

  @Test func samplingIsDeterministicUnderASeed() throws {
    func sample(_ seed: Int) throws -> String {
      try ProductRunner.run(
        "moe-generate",
        [
          "--model", Self.model("qwen2_moe"), "--token-ids", "5,6,7", "--max-new-tokens", "12",
          "--temperature",
          "1.5", "--top-k", "40", "--top-p", "0.95", "--seed", "\(seed)", "--format", "json",
        ]
      ).output.components(separatedBy: "\"generated\"")[1].components(separatedBy: "]")[0]
    }
    #expect(try sample(1) == sample(1))
    #expect(try sample(1) != sample(2))
  }

  /// A prompt alone generates (the default number of tokens, or fewer when an end token comes).
  @Test func aPromptAloneGenerates() throws {
    let result = try ProductRunner.run(
      "moe-generate", ["--model", Self.model("llama"), "--token-ids", "3,17"])
    #expect(result.status == 0, "\(result.errors)")
    #expect(
      result.output.contains("prefill 2 tokens") && result.output.contains("decode "), "\(result.output)")
  }

  @Test(arguments: [
    (["--token-ids", "3", "--max-new-tokens", "0"], "nothing to do"),
    (["--token-ids", "3,x", "--max-new-tokens", "2"], "comma-separated"),
    (["--token-ids", "3", "--prompt", "a", "--max-new-tokens", "2"], "exactly one of"),
    ([String](), "give exactly one of"),
    (
      ["--token-ids", "3", "--max-new-tokens", "0", "--save-model", "/tmp/moekit-never-written"],
      "a prompt needs --logits or --max-new-tokens of 1 or more"
    ),
    (["--token-ids", "3", "--max-new-tokens", "1000000"], "--max-new-tokens must be in"),
    (["--token-ids", "3", "--max-new-tokens", "2", "--top-p", "0"], "--top-p must be in"),
    (["--token-ids", "3", "--max-new-tokens", "2", "--temperature=-1"], "--temperature must be in"),
    (["--token-ids", "9999", "--max-new-tokens", "2"], "outside the model's vocabulary"),
    (["--prompt", "hi", "--max-new-tokens", "2"], "needs a tokenizer.json"),
    (["--token-ids", "3", "--logits", "/nonexistent-moekit/l.npy"], "does not exist"),
  ])
  func badArgumentsAreOneLineErrors(arguments: [String], message: String) throws {
    let result = try ProductRunner.run("moe-generate", ["--model", Self.model("llama")] + arguments)
    #expect(result.status != 0)
    #expect(result.errors.contains(message), "\(result.errors)")
  }

  /// Weights with a NaN give an error naming the position, never an answer, and no file.
  @Test func nonFiniteWeightsAreRefused() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-generate-nan-\(UInt64.random(in: 0..<1 << 40))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let source = try SafeTensorsFile(contentsOfFile: Self.model("llama") + "/model.safetensors")
    var tensors: [String: Tensor] = [:]
    for name in source.names {
      var m = try source.matrix(name, as: Float.self)
      if name == "lm_head.weight" { m[5, 3] = .nan }
      tensors[name] = Tensor(m, shape: source.tensors[name]!.shape, as: .f32)
    }
    try SafeTensorsWriter.write(tensors, to: folder.appendingPathComponent("model.safetensors").path)
    try FileManager.default.copyItem(
      atPath: Self.model("llama") + "/config.json", toPath: folder.appendingPathComponent("config.json").path)
    let logits = folder.appendingPathComponent("logits.npy").path
    let scored = try ProductRunner.run(
      "moe-generate", ["--model", folder.path, "--token-ids", "1,2", "--logits", logits])
    #expect(scored.status != 0 && scored.errors.contains("not finite"), "\(scored.errors)")
    #expect(!FileManager.default.fileExists(atPath: logits))
    let generated = try ProductRunner.run(
      "moe-generate", ["--model", folder.path, "--token-ids", "1,2", "--max-new-tokens", "3"])
    #expect(
      generated.status != 0 && generated.errors.contains("logits at position 1 are not finite"),
      "\(generated.errors)")
  }

  @Test func savesAQuantizedModelThatGeneratesTheSame() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-generate-save-\(UInt64.random(in: 0..<1 << 40))")
    defer { try? FileManager.default.removeItem(at: folder) }
    let saved = try ProductRunner.run(
      "moe-generate",
      ["--model", Self.model("mixtral"), "--weight-format", "q8", "--save-model", folder.path])
    #expect(saved.status == 0, "\(saved.errors)")
    func generate(_ arguments: [String]) throws -> String {
      try ProductRunner.run(
        "moe-generate", arguments + ["--token-ids", "3,17,42", "--max-new-tokens", "6", "--format", "json"]
      ).output.components(separatedBy: "\"generated\"")[1].components(separatedBy: "]")[0]
    }
    #expect(
      try generate(["--model", folder.path])
        == generate(["--model", Self.model("mixtral"), "--weight-format", "q8"]))
    let again = try ProductRunner.run(
      "moe-generate", ["--model", Self.model("mixtral"), "--save-model", folder.path])
    #expect(again.status != 0 && again.errors.contains("exists already"))
  }

  /// `--calibration-text` weights the quantization of a saved model: the run reports what the
  /// experts saw, and the file differs from one quantized without it.
  @Test func savesAModelQuantizedWithCalibration() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-generate-calibrated-\(UInt64.random(in: 0..<1 << 40))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let text = folder.appendingPathComponent("calibration.txt").path
    try String(repeating: "The router sends each token to two of its experts. ", count: 20)
      .write(toFile: text, atomically: true, encoding: .utf8)
    let gguf = Self.models.deletingLastPathComponent().appendingPathComponent("gguf/models/mixtral-Q8_0.gguf")
      .path
    func save(_ name: String, _ extra: [String]) throws -> Data {
      let path = folder.appendingPathComponent(name).path
      let result = try ProductRunner.run(
        "moe-generate", ["--model", gguf, "--weight-format", "q4_K", "--save-gguf", path] + extra)
      #expect(result.status == 0, "\(result.errors)")
      if !extra.isEmpty {
        #expect(result.errors.contains("layer 0: 4 experts saw") && result.errors.contains("calibration: "))
      }
      return try Data(contentsOf: URL(fileURLWithPath: path))
    }
    let (plain, calibrated) = (
      try save("plain.gguf", []), try save("calibrated.gguf", ["--calibration-text", text])
    )
    #expect(plain.count == calibrated.count && plain != calibrated)
    let refused = try ProductRunner.run(
      "moe-generate",
      [
        "--model", gguf, "--weight-format", "bf16", "--calibration-text", text, "--save-gguf",
        folder.path + "/x.gguf",
      ])
    #expect(refused.refused(naming: "--calibration-text"), "\(refused.errors)")
  }

  @Test func aMissingModelFolderIsNamed() throws {
    let result = try ProductRunner.run(
      "moe-generate", ["--model", "/nonexistent-moekit", "--token-ids", "1", "--max-new-tokens", "1"])
    #expect(result.status != 0 && result.errors.contains("cannot read the model at /nonexistent-moekit"))
  }
}

@Suite struct ModelBenchTests {
  @Test func measuresATinyModelAsJSON() throws {
    let result = try ProductRunner.run(
      "model-bench", ["--shape", "tiny", "--prompt-tokens", "6", "--decode-tokens", "3", "--format", "json"])
    #expect(result.status == 0, "\(result.errors)")
    let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
    #expect(object?["finite"] as? Bool == true)
    #expect((object?["decode_over_ideal"] as? Double ?? 0) > 0)
    #expect((object?["checkpoint_bytes"] as? Int ?? 0) > 500_000)
  }

  @Test func refusesShapesAndSizesItCannotRun() throws {
    for (arguments, message) in [
      (["--shape", "gpt5"], "--shape must be one of"),
      (["--shape", "tiny", "--layers", "9"], "--layers must be in"),
      (["--shape", "tiny", "--decode-tokens", "0"], "--decode-tokens must be in"),
    ] {
      let result = try ProductRunner.run("model-bench", arguments)
      #expect(result.status != 0 && result.errors.contains(message), "\(result.errors)")
    }
  }
}

@Suite struct QuantBenchTests {
  @Test func quickRunReportsEveryFormat() throws {
    let result = try ProductRunner.run("quant-bench", ["--quick", "--repetitions", "1", "--format", "json"])
    #expect(result.status == 0, "\(result.errors)")
    let rows = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]] ?? []
    // Decode at T = 1 and 8, prefill and whole-model agreement, for each of the 8 formats.
    #expect(rows.count == 32)
    // The whole-model fixtures: float32 agrees with itself; bf16 keeps nearly every top-1
    // token even on random weights, whose logits are close together.
    let agreements = Dictionary(
      uniqueKeysWithValues: rows.compactMap { row in
        (row["top1_agreement"] as? Double).map { (row["weights"] as! String, $0) }
      })
    #expect(agreements["float32"] == 1 && agreements["bf16"]! > 0.8 && agreements.count == 8)
    let errors = rows.compactMap { row -> (String, Double)? in
      guard let e = row["relative_error"] as? Double else { return nil }
      return (row["weights"] as! String, e)
    }
    // bf16 keeps 8 mantissa bits: its layer error is a fraction of a percent; q8 near one;
    // ggml's K-quants in the order of their bits, Q4_K below q4 at the same 4.5 bits.
    let error = Dictionary(uniqueKeysWithValues: errors)
    #expect(error["bf16"]! < 0.005 && error["q8"]! < 0.015)
    #expect(
      error["q6_K"]! < error["q5_K"]! && error["q5_K"]! < error["q4_K"]! && error["q4_K"]! < error["q4"]!)
  }

  @Test func refusesABadRepetitionCount() throws {
    let result = try ProductRunner.run("quant-bench", ["--repetitions", "0"])
    #expect(result.status != 0 && result.errors.contains("--repetitions must be in 1...50"))
  }
}
