import Evaluation
import Foundation
import Linalg
import MoE
import ModelIO
import Testing

/// Calibration of a whole model (the 256-wide Mixtral GGUF fixture llama.cpp quantized to Q8_0, whose rows hold Q4_K
/// super-blocks): every product gets an importance, the experts' token counts add up to
/// the routed assignments, and the loader quantizes with it.
@Suite struct ModelCalibrationTests {
  static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../ModelIOTests/Fixtures/gguf/models/mixtral-Q8_0.gguf").standardized.path

  static func tokens(_ count: Int, vocabulary: Int) -> [Int] {
    var g = Xoshiro256StarStar(seed: 5)
    return (0..<count).map { _ in Int(g.next() % UInt64(vocabulary)) }
  }

  @Test func everyProductIsCalibratedAndTheLoaderQuantizesWithIt() throws {
    let model = try HuggingFaceModel(folder: Self.path, weightFormat: .bf16)
    let tokens = Self.tokens(48, vocabulary: model.model.vocabulary)
    let calibration = ImportanceCalibration(names: model.productNames)
    calibration.run(model.model, tokens: tokens, context: 16)
    let importance = calibration.importance
    #expect(!importance.isEmpty && Set(importance.keys) == Set(model.productNames.values))
    let k = try model.checkpoint.config.int("num_experts_per_tok")
    for (layer, experts) in calibration.tokensPerExpert {
      #expect(experts.values.reduce(0, +) == tokens.count * k, "layer \(layer)")
    }
    let prompt = Array(tokens.prefix(8))
    let plain = try HuggingFaceModel(folder: Self.path, weightFormat: .q4K)
    let weighted = try HuggingFaceModel(folder: Self.path, weightFormat: .q4K, importance: importance)
    let (a, b) = (
      plain.model.logits(prompt, layout: .single(8)), weighted.model.logits(prompt, layout: .single(8))
    )
    #expect(a.elements != b.elements)
  }

  @Test func anImportanceThatDoesNotFitItsProductIsRefusedByName() throws {
    let model = try HuggingFaceModel(folder: Self.path, weightFormat: .bf16)
    let name = try #require(model.productNames.values.first { $0.contains("experts") })
    for values in [[Float](repeating: 1, count: 3), [Float](repeating: .nan, count: 256)] {
      #expect {
        _ = try HuggingFaceModel(folder: Self.path, weightFormat: .q4K, importance: [name: values])
      } throws: { error in
        guard case CheckpointError.unusableImportance(let found, _, _, _) = error else { return false }
        return found == name && "\(error)".contains(name)
      }
    }
  }
}
