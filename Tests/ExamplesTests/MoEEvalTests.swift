import Foundation
import Testing
import _TestSupport

/// `moe-eval` on a GGUF fixture that carries its tokenizer: the report, a model against itself
/// (no divergence), and a one-line error for each bad argument.
@Suite struct MoEEvalTests {
  static let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("ModelIOTests/Fixtures/gguf/models/mixtral-small-F32.gguf").path

  static func text() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-eval-\(UInt64.random(in: 0..<1 << 40)).txt"
    ).path
    try String(
      repeating: "def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n",
      count: 8
    )
    .write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  @Test func aModelAgainstItselfHasNoDivergence() throws {
    let text = try Self.text()
    defer { try? FileManager.default.removeItem(atPath: text) }
    let result = try ProductRunner.run(
      "moe-eval",
      [
        "--model", Self.model, "--text", text, "--context", "64", "--reference", Self.model, "--format",
        "json",
      ])
    #expect(result.status == 0, "\(result.errors)")
    let report = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: String] ?? [:]
    #expect(Double(report["perplexity"] ?? "") ?? 0 > 1)
    #expect(report["perplexity"] == report["reference perplexity"])
    #expect(report["KL divergence mean"] == "0.000000" && report["top-1 agreement"] == "100.00 %")
    #expect(Int(report["tokens scored"] ?? "") ?? 0 > 100)
  }

  /// A saved reference scores the model as the live reference does, routing included; a
  /// second text reports expert-load divergence; calibration prints what the experts saw.
  @Test func aSavedReferenceScoresAsTheLiveOne() throws {
    let text = try Self.text()
    let file = text + ".mkrl"
    defer { for path in [text, file] { try? FileManager.default.removeItem(atPath: path) } }
    let base = ["--model", Self.model, "--text", text, "--context", "64", "--format", "json"]
    let save = try ProductRunner.run("moe-eval", base + ["--save-reference", file, "--reference-top", "512"])
    #expect(save.status == 0, "\(save.errors)")
    func report(_ arguments: [String]) throws -> [String: String] {
      let result = try ProductRunner.run("moe-eval", base + ["--weight-format", "q8"] + arguments)
      #expect(result.status == 0, "\(result.errors)")
      return try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: String] ?? [:]
    }
    let fromFile = try report(["--reference-logits", file, "--compare-text", text])
    let live = try report(["--reference", Self.model, "--reference-weight-format", "float32"])
    for key in ["KL divergence mean", "KL divergence p99", "top-1 agreement", "routing changed"] {
      #expect(
        fromFile[key] != nil && fromFile[key] == live[key],
        "\(key): \(fromFile[key] ?? "-") \(live[key] ?? "-")")
    }
    // The file keeps log-probabilities in Float32.
    let (saved, again) = (
      Double(fromFile["reference perplexity"] ?? "") ?? 0, Double(live["reference perplexity"] ?? "") ?? 1
    )
    #expect(abs(saved - again) <= 1e-6 * again)
    #expect(fromFile["expert-load JS mean"] == "0.0000")
    let calibrated = try ProductRunner.run(
      "moe-eval",
      [
        "--model", Self.model, "--text", text, "--context", "64", "--weight-format", "q8",
        "--calibration-text", text,
      ])
    #expect(calibrated.refused(naming: "--calibration-text"), "\(calibrated.errors)")
  }

  @Test func badArgumentsAreRefusedByName() throws {
    let text = try Self.text()
    defer { try? FileManager.default.removeItem(atPath: text) }
    let folderModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("ModelIOTests/Fixtures/models/mixtral").path
    for (arguments, named) in [
      (["--model", Self.model, "--text", text, "--context", "1"], "--context"),
      (["--model", Self.model, "--text", text, "--context", "8", "--stride", "9"], "--stride"),
      (["--model", Self.model, "--text", text, "--context", "300"], "256 positions"),
      (["--model", Self.model, "--text", "/nonexistent.txt"], "/nonexistent.txt"),
      (["--model", folderModel, "--text", text], "no tokenizer"),
      (["--model", Self.model, "--text", text, "--reference", "/nonexistent-model"], "/nonexistent-model"),
      (
        ["--model", Self.model, "--text", text, "--reference-logits", "/nonexistent.mkrl"],
        "/nonexistent.mkrl"
      ),
      (["--model", Self.model, "--text", text, "--reference-logits", text], "MKRL"),
      (
        ["--model", Self.model, "--text", text, "--reference", Self.model, "--reference-logits", text],
        "give one"
      ),
      (["--model", Self.model, "--text", text, "--save-reference", text], "overwrite"),
      (
        [
          "--model", Self.model, "--text", text, "--save-reference", "/tmp/x.mkrl", "--reference-top", "9999",
        ], "vocabulary"
      ),
      (["--model", Self.model, "--text", text, "--compare-text", "/nonexistent.txt"], "--compare-text"),
      (
        ["--model", Self.model, "--text", text, "--calibration-text", text, "--calibration-tokens", "3"],
        "--calibration-tokens"
      ),
    ] {
      let result = try ProductRunner.run("moe-eval", arguments)
      #expect(result.refused(naming: named), "\(arguments): \(result.errors)")
    }
  }
}
