import Foundation
import Linalg
import MoE
import ModelIO
import Testing
import _TestSupport

/// Bad input as a user gives it — sizes beyond what the library or the machine takes,
/// non-finite numbers, unreadable files, outputs pointed at inputs or at each other —
/// against the programs themselves: each is refused with a message that names the option
/// or file, no program traps, and nothing that was there before is changed or left behind.
@Suite struct BadInputTests {
  /// A program, its arguments, and what its message must name.
  struct Case: CustomTestStringConvertible, Sendable {
    var program: String
    var arguments: [String]
    var named: String
    var testDescription: String { ([program] + arguments).joined(separator: " ") }
  }

  static let outOfRange: [Case] = [
    Case(program: "moe-bench", arguments: ["--tokens", "1000000000000"], named: "--tokens"),
    Case(program: "moe-bench", arguments: ["--tokens", "1000000", "--dimensions", "65536"], named: "GB"),
    Case(program: "moe-bench", arguments: ["--experts", "0"], named: "--experts"),
    Case(program: "dense-vs-sparse", arguments: ["--tokens", "1000000000000"], named: "--tokens"),
    Case(program: "dense-vs-sparse", arguments: ["--threads", "10000000000"], named: "--threads"),
    Case(program: "dense-vs-sparse", arguments: ["--config", "C1", "--hidden", "200000"], named: "GB"),
    Case(program: "gemm-bench", arguments: ["--threads", "10000000000"], named: "--threads"),
    Case(
      program: "attention-bench", arguments: ["--prefill-tokens", "1000000000000"], named: "--prefill-tokens"),
    Case(program: "attention-bench", arguments: ["--prefill-tokens", "65536"], named: "GB"),
    Case(program: "attention-bench", arguments: ["--dimensions", "32"], named: "--dimensions"),
    Case(program: "expert-finetune", arguments: ["--batch", "1000000000000"], named: "--batch"),
    Case(program: "routing-collapse", arguments: ["--batch", "1000000000000"], named: "--batch"),
    Case(
      program: "routing-collapse", arguments: ["--steps", "1000000", "--experts", "1024", "--layers", "64"],
      named: "GB"),
    Case(program: "moe-tour", arguments: ["--tokens", "1000000000000"], named: "--tokens"),
    Case(program: "moe-tour", arguments: ["--experts", "4"], named: "--experts"),
    Case(
      program: "expert-memory", arguments: ["--layers", "64", "--experts", "1024", "--dimensions", "8192"],
      named: "GB"),
    Case(program: "cost-tables", arguments: ["--batch", "1000000000000"], named: "--batch"),
    Case(program: "model-bench", arguments: ["--prompt-tokens", "1000000000000"], named: "--prompt-tokens"),
    Case(program: "quant-bench", arguments: ["--repetitions", "100"], named: "--repetitions"),
    // --threads means the same in every program, with the same range.
    Case(program: "moe-tour", arguments: ["--threads", "0"], named: "--threads"),
    Case(program: "quant-bench", arguments: ["--threads", "2000"], named: "--threads"),
    Case(program: "cost-tables", arguments: ["--threads", "-1"], named: "--threads"),
    Case(program: "model-bench", arguments: ["--threads", "0"], named: "--threads"),
    Case(
      program: "moe-generate",
      arguments: ["--model", "/tmp", "--token-ids", "1", "--max-new-tokens", "1000000000"],
      named: "--max-new-tokens"),
  ]

  @Test(arguments: outOfRange) func optionsOutsideWhatTheRunCanDoAreRefused(_ c: Case) throws {
    let result = try ProductRunner.run(c.program, c.arguments)
    #expect(result.refused(naming: c.named), "status \(result.status): \(result.errors)")
    #expect(result.errors.split(separator: "\n").first.map { $0.count < 400 } ?? false)
  }

  /// NaN in the input rows 1 and 3, in an expert's weights, or in the router's: refused
  /// with the rows, tokens and layer named; no output appears.
  @Test func nonFiniteNumbersAreRefusedNotAnsweredWith() throws {
    let fixture = try MoERunFixture()
    let path = fixture.path
    var x = fixture.input
    x[1, 2] = .nan
    x[3, 0] = .infinity
    try NpyArray(x).write(to: path("nan.npy"))
    let input = try ProductRunner.run(
      "moe-run", fixture.arguments(layer: 0, input: "nan.npy") + ["--output", path("y.npy")])
    #expect(input.refused(naming: "NaN or ±∞ in 2 row(s): 1, 3"), "\(input.errors)")

    for (tensor, message) in [
      ("model.layers.0.mlp.experts.2.up_proj.weight", "the output is not finite"),
      ("model.layers.0.mlp.gate.weight", "router logits are not finite"),
    ] {
      var tensors = fixture.tensors
      var bytes = tensors[tensor]!.bytes
      for i in 0..<4 { bytes[i] = [0x00, 0x00, 0xc0, 0x7f][i] }  // the first element: NaN
      tensors[tensor]!.bytes = bytes
      try SafeTensorsWriter.write(tensors, to: path("nan.safetensors"))
      let weights = try ProductRunner.run(
        "moe-run", fixture.arguments(layer: 0, weights: "nan.safetensors") + ["--output", path("y.npy")])
      #expect(weights.refused(naming: message) && weights.errors.contains("layer 0"), "\(weights.errors)")
    }
    #expect(!FileManager.default.fileExists(atPath: path("y.npy")))
  }

  /// Outputs that are an input, the same file twice, a folder, or in a missing folder are
  /// refused before any work; a run whose second output cannot be written replaces neither.
  @Test func outputsNeverDestroyWhatWasThere() throws {
    let fixture = try MoERunFixture()
    let path = fixture.path
    try Data("old output".utf8).write(to: URL(fileURLWithPath: path("y.npy")))
    try FileManager.default.createDirectory(atPath: path("folder"), withIntermediateDirectories: false)
    let before = try fixture.snapshot()
    let cases: [([String], String)] = [
      (["--output", path("x.npy")], "would overwrite the input"),
      (["--output", path("config.json")], "would overwrite the input"),
      (["--output", path("y.npy"), "--routing", path("y.npy")], "two outputs of this run are both"),
      (["--output", path("folder")], "is a folder"),
      (["--output", path("y.npy"), "--routing", path("missing/routing.json")], "does not exist"),
      (["--output", path("y.npy"), "--routing", path("folder")], "is a folder"),
    ]
    for (outputs, message) in cases {
      let result = try ProductRunner.run("moe-run", fixture.arguments + outputs)
      #expect(result.refused(naming: message), "\(outputs): \(result.errors)")
      #expect(try fixture.snapshot() == before, "\(outputs) changed the folder")
    }
  }

  /// Inputs that are empty, truncated, a folder, a FIFO or not there are named in one line.
  @Test func unreadableInputsAreNamed() throws {
    let fixture = try MoERunFixture()
    let path = fixture.path
    _ = FileManager.default.createFile(atPath: path("empty.npy"), contents: Data())
    let whole = try Data(contentsOf: URL(fileURLWithPath: path("x.npy")))
    try whole.prefix(whole.count - 7).write(to: URL(fileURLWithPath: path("short.npy")))
    try FileManager.default.createDirectory(atPath: path("dir.npy"), withIntermediateDirectories: false)
    #expect(mkfifo(path("fifo.npy"), 0o600) == 0)
    let before = try fixture.snapshot()
    for (name, message) in [
      ("empty.npy", "truncated"), ("short.npy", "truncated"), ("dir.npy", "dir.npy"),
      ("fifo.npy", "fifo.npy"), ("none.npy", "none.npy"),
    ] {
      let result = try ProductRunner.run(
        "moe-run", fixture.arguments(layer: 0, input: name) + ["--output", path("y.npy")])
      #expect(result.refused(naming: message), "\(name): \(result.errors)")
      #expect(!result.errors.contains("NSCocoaErrorDomain"), "\(name): \(result.errors)")
    }
    #expect(try fixture.snapshot() == before)
  }

  /// config.json files that are empty, not JSON, a folder, of an unknown family, with a
  /// field of the wrong type, or missing: each refused naming the file and the problem.
  @Test func brokenConfigsAreNamed() throws {
    let fixture = try MoERunFixture()
    let path = fixture.path
    _ = FileManager.default.createFile(atPath: path("empty.json"), contents: Data())
    _ = FileManager.default.createFile(atPath: path("broken.json"), contents: Data("{not json".utf8))
    _ = FileManager.default.createFile(
      atPath: path("unknown.json"), contents: Data(#"{"model_type": "nonesuch"}"#.utf8))
    _ = FileManager.default.createFile(
      atPath: path("wrong.json"),
      contents: Data(#"{"model_type": "mixtral", "hidden_size": "big", "vocab_size": 8}"#.utf8))
    try FileManager.default.createDirectory(atPath: path("dir.json"), withIntermediateDirectories: false)
    for (name, message) in [
      ("empty.json", "not valid JSON"), ("broken.json", "not valid JSON"),
      ("unknown.json", "supported: llama"),
      ("wrong.json", "\"hidden_size\" must be"), ("dir.json", "folder"), ("none.json", "no such file"),
    ] {
      let result = try ProductRunner.run("cost-tables", ["--config", path(name)])
      #expect(result.refused(naming: message) && result.errors.contains(name), "\(name): \(result.errors)")
    }
    try FileManager.default.createDirectory(atPath: path("model"), withIntermediateDirectories: false)
    for (folder, message) in [(path("model"), "no config.json"), (path("none"), "no such folder")] {
      let result = try ProductRunner.run(
        "moe-generate", ["--model", folder, "--token-ids", "1", "--max-new-tokens", "1"])
      #expect(result.refused(naming: message), "\(folder): \(result.errors)")
    }
  }

  /// An output folder that is a file is refused before any work.
  @Test func anOutputFolderThatIsAFileIsRefused() throws {
    let fixture = try MoERunFixture()
    let file = fixture.path("x.npy")
    for program in ["routing-collapse", "expert-memory"] {
      let result = try ProductRunner.run(program, ["--output-dir", file])
      #expect(result.refused(naming: "is a file"), "\(program): \(result.errors)")
    }
  }

  /// Two outputs of one run on one path, or a saved model inside the model it came from, are
  /// refused before any work, naming both options.
  @Test func outputsOfOneRunMustNotCollide() throws {
    let model = MoEGenerateTests.model("llama")
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-collide-\(UInt64.random(in: 0..<1 << 40))"
    ).path
    defer { try? FileManager.default.removeItem(atPath: folder) }
    for (arguments, named) in [
      (["--logits", folder, "--save-model", folder], "--logits \(folder) and --save-model"),
      (["--logits", folder + "/x.npy", "--save-model", folder], "--logits"),
      (["--save-model", model + "/copy"], "outside --model"),
      (["--save-gguf", folder, "--save-model", folder], "--save-gguf \(folder) and \(folder)"),
      (["--save-gguf", model], "--save-gguf"),
    ] {
      let result = try ProductRunner.run(
        "moe-generate", ["--model", model, "--token-ids", "1,2", "--max-new-tokens", "1"] + arguments)
      #expect(result.refused(naming: named), "\(arguments): \(result.errors)")
      #expect(
        !FileManager.default.fileExists(atPath: folder)
          && !FileManager.default.fileExists(atPath: model + "/copy"))
    }
  }

  /// A skew so steep that the synthetic trace's top expert takes nearly every draw ends (the
  /// draw is without replacement, k draws per layer).
  @Test func extremeSkewEnds() throws {
    let result = try ProductRunner.run("expert-memory", ["--quick", "--skew", "50"])
    #expect(result.status == 0, "\(result.errors)")
  }

  /// A tokenizer whose post-processor names a negative or huge special-token id, and a
  /// quant-bench reference whose token ids are negative or not whole: each refused naming the
  /// file and field, never a trap.
  @Test func tokenIdsFromFilesAreChecked() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-ids-\(UInt64.random(in: 0..<1 << 40))")
    defer { try? FileManager.default.removeItem(at: folder) }
    let model = folder.appendingPathComponent("models/llama")
    try FileManager.default.createDirectory(
      at: model.deletingLastPathComponent(), withIntermediateDirectories: true)
    try FileManager.default.copyItem(
      at: URL(fileURLWithPath: MoEGenerateTests.model("llama")), to: model)
    let reference = model.appendingPathComponent("reference.json")
    for (ids, shown) in [("[1, -3]", "-3"), ("[1, 1e30]", "1e+30"), ("[1.5]", "1.5")] {
      try Data(#"{"prompt": \#(ids), "generated": []}"#.utf8).write(to: reference)
      let result = try ProductRunner.run(
        "quant-bench", ["--quick", "--models", model.deletingLastPathComponent().path])
      #expect(result.refused(naming: "reference.json: \"prompt\" holds"), "\(ids): \(result.errors)")
      #expect(result.errors.contains(shown) || result.errors.contains("number"), "\(result.errors)")
    }
    // A broken model among several is named.
    try Data(#"{"prompt": [1, 2], "generated": [3]}"#.utf8).write(to: reference)
    let broken = folder.appendingPathComponent("models/mixtral-broken")
    try FileManager.default.copyItem(at: model, to: broken)
    try Data(#"{"model_type": "mixtral", "hidden_size": 64}"#.utf8).write(
      to: broken.appendingPathComponent("config.json"))
    let result = try ProductRunner.run(
      "quant-bench", ["--quick", "--models", model.deletingLastPathComponent().path])
    #expect(result.refused(naming: "model \(broken.path): "), "\(result.errors)")
  }
}
