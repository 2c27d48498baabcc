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
    ] {
      let result = try ProductRunner.run("moe-eval", arguments)
      #expect(result.refused(naming: named), "\(arguments): \(result.errors)")
    }
  }
}
