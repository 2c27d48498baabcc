import Foundation
import Linalg
import MoE
import ModelIO
import Testing

/// Models built in MoEKit, written as Llama and Mixtral checkpoints, load back (and, where
/// `transformers` is installed, load there) with the same logits.
@Suite struct HuggingFaceExportTests {
  static func model(moe: Bool, tied: Bool = true, shared: Bool = false, seed: UInt64 = 3) -> DecoderModel<
    Float
  > {
    var g = Xoshiro256StarStar(seed: seed)
    let d = 16
    return DecoderModel<Float>(
      vocabulary: 40, dimensions: d, layout: moe ? .allMoE(layers: 2) : .dense(layers: 2),
      denseHiddenDimensions: 24,
      tiedEmbeddings: tied, using: &g,
      makeAttention: { _, g in .grouped(MultiHeadAttention(dimensions: d, heads: 4, kvHeads: 2, using: &g)) },
      makeMoE: { _, g in
        MoELayer(
          dimensions: d, hiddenDimensions: 12,
          router: TopKSoftmaxRouter(dimensions: d, expertCount: 4, k: 2, using: &g),
          sharedHiddenDimensions: shared ? 8 : nil, using: &g)
      })
  }

  static let tokens = [1, 5, 9, 2, 33, 7, 7, 0, 39, 12]

  static func folder() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-export-\(UInt64.random(in: 0..<1 << 40))"
    )
    .path
  }

  @Test(arguments: [(false, true), (false, false), (true, true), (true, false)])
  func writtenModelsLoadBackWithTheSameLogits(moe: Bool, tied: Bool) throws {
    let model = Self.model(moe: moe, tied: tied)
    let folder = Self.folder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try HuggingFaceExport.write(model, as: moe ? .mixtral : .llama, to: folder)
    let loaded = try HuggingFaceModel(folder: folder)
    #expect(loaded.checkpoint.modelType == (moe ? "mixtral" : "llama"))
    let layout = SequenceLayout.single(Self.tokens.count)
    let expected = model.logits(Self.tokens, layout: layout)
    let found = loaded.model.logits(Self.tokens, layout: layout)
    #expect(found.isApproximatelyEqual(to: expected, relativeTolerance: 1e-5), "\(found)\n\(expected)")
    // Writing again replaces the folder whole.
    try HuggingFaceExport.write(model, as: moe ? .mixtral : .llama, to: folder)
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == [
        "config.json", "model.safetensors",
      ])
  }

  @Test func whatAFamilyCannotExpressIsRefused() {
    let folder = Self.folder()
    for (model, family, field) in [
      (Self.model(moe: true, shared: true), HuggingFaceExport.Family.mixtral, "layers.0.moe"),
      (Self.model(moe: false), .mixtral, "layers.0"),
      (Self.model(moe: true), .llama, "layers.0"),
    ] {
      #expect {
        try HuggingFaceExport.write(model, as: family, to: folder)
      } throws: { error in
        guard case .unsupportedField(let found, _, _) = error as? CheckpointError else { return false }
        return found == field
      }
    }
    #expect(!FileManager.default.fileExists(atPath: folder))
  }

  /// The same checkpoints in `transformers` (`scripts/check-export.sh` installs it in a
  /// throw-away environment and sets `MOEKIT_TRANSFORMERS_PYTHON`).
  @Test(
    .enabled(
      if: ProcessInfo.processInfo.environment["MOEKIT_TRANSFORMERS_PYTHON"] != nil,
      "needs transformers: run scripts/check-export.sh"),
    arguments: [false, true])
  func transformersComputesTheSameLogits(moe: Bool) throws {
    let python = ProcessInfo.processInfo.environment["MOEKIT_TRANSFORMERS_PYTHON"]!
    let model = Self.model(moe: moe, tied: moe)
    let folder = Self.folder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try HuggingFaceExport.write(model, as: moe ? .mixtral : .llama, to: folder)
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("scripts/transformers_logits.py").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script, folder, folder + "/logits.npy"] + Self.tokens.map(String.init)
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    let theirs = try NpyArray(contentsOfFile: folder + "/logits.npy").matrix(as: Float.self)
    let ours = model.logits(Self.tokens, layout: .single(Self.tokens.count))
    // Logits of magnitude about 1; float32 sums in another order differ by about 1e-7.
    #expect(
      theirs.isApproximatelyEqual(to: ours, absoluteTolerance: 1e-5, relativeTolerance: 1e-4),
      "\(theirs)\n\(ours)")
  }
}
