import Linalg
import MoE
import Report

/// Greedy generation with seeded random decoder models that differ only in attention:
/// the whole model (embedding, dense and MoE layers, tied head) over its KV caches.
struct GenerationMeasurement {
  var kinds: [AttentionKindUnderTest]
  var dimensions: Int
  var layers: Int
  var promptTokens: Int
  var newTokens: Int
  var repetitions: Int

  static let vocabulary = 4096

  func report() -> String {
    var table = Table(
      header: ["attention", "prefill ms", "ms per new token", "new tokens/s", "KV cache after, MB"],
      alignments: [.left, .right, .right, .right, .right])
    var generator = Xoshiro256StarStar(seed: 9)
    let prompt = (0..<promptTokens).map { _ in Int.random(in: 0..<Self.vocabulary, using: &generator) }
    for kind in kinds {
      let model = DecoderModel<Float>(
        vocabulary: Self.vocabulary, dimensions: dimensions,
        layout: .firstDense(layers: layers, firstDenseLayers: 1),
        denseHiddenDimensions: 4 * dimensions, using: &generator,
        makeAttention: { _, g in kind.make(&g) },
        makeMoE: { _, g in
          MoELayer(
            dimensions: dimensions, hiddenDimensions: dimensions * 11 / 8,
            router: TopKSoftmaxRouter(dimensions: dimensions, expertCount: 8, k: 2, using: &g), using: &g)
        })
      let times = Stopwatch.interleavedMedians(
        repetitions: repetitions,
        [
          {
            var caches = model.makeCaches(capacity: promptTokens)
            _ = model.decode(prompt, caches: &caches)
          },
          { _ = try? model.generate(prompt: prompt, count: newTokens) },
        ])
      var caches = model.makeCaches(capacity: promptTokens + newTokens)
      let generated = (try? model.generate(prompt: prompt, count: newTokens)) ?? []
      _ = model.decode(prompt + generated, caches: &caches)
      let perToken = (times[1] - times[0]) / Double(newTokens)
      table.append([
        kind.name, Format.fixed(times[0] * 1e3, 1), Format.fixed(perToken * 1e3, 2),
        Format.fixed(1 / perToken, 1),
        Format.fixed(Double(caches.reduce(0) { $0 + $1.byteCount }) / 1e6, 2),
      ])
    }
    return """
      Generation: \(layers) layers (the first dense, the rest 8 experts top-2), d \(dimensions), vocabulary \
      \(Self.vocabulary), a \(promptTokens)-token prompt then \(newTokens) greedy tokens
      \(table.markdown)
      """
  }
}
