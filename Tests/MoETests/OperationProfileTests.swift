import Linalg
import MoE
import Testing

/// The operation profile: nothing is recorded without one installed; with one, a decode step
/// lists every operation it ran under the current phase, and the weight bytes of the
/// products it read.
@Suite struct OperationProfileTests {
  @Test func recordsOperationsPhaseByPhase() throws {
    var g = Xoshiro256StarStar(seed: 5)
    let model = DecoderModel<Float>(
      vocabulary: 50, dimensions: 16, layout: StackLayout(isMoE: [false, true]), denseHiddenDimensions: 24,
      using: &g,
      makeAttention: { _, g in .grouped(MultiHeadAttention(dimensions: 16, heads: 4, kvHeads: 2, using: &g))
      },
      makeMoE: { _, g in
        MoELayer(
          dimensions: 16, hiddenDimensions: 8,
          router: TopKSoftmaxRouter(dimensions: 16, expertCount: 4, k: 4, using: &g),
          sharedHiddenDimensions: 8,
          using: &g)
      })
    let profile = OperationProfile(phase: "prefill")
    var caches = model.makeCaches()
    _ = model.decode([1, 2, 3], caches: &caches)  // not installed: nothing recorded
    #expect(profile.entries(of: "prefill").isEmpty)
    profile.profiling { _ = model.decode([4, 5], caches: &caches) }
    profile.phase = "decode"
    for token in [6, 7, 8] { profile.profiling { _ = model.decode([token], caches: &caches) } }
    let names = Set(profile.entries(of: "decode").map(\.name))
    #expect(
      names == [
        "embedding", "attention norm", "q/k/v projections", "rope, q/k norms", "attention", "o projection",
        "feed-forward norm", "dense feed-forward", "router", "dispatch", "experts", "combine",
        "shared expert",
        "final norm", "head",
      ], "\(names)")
    let decode = Dictionary(uniqueKeysWithValues: profile.entries(of: "decode").map { ($0.name, $0.entry) })
    #expect(decode["embedding"]?.calls == 3 && decode["attention"]?.calls == 6)
    // Every expert of the MoE layer is chosen (k = E): each step reads all of their weights.
    let moe = model.blocks[1].feedForward.moe!
    #expect(decode["experts"]?.bytes == 3 * moe.experts.reduce(0) { $0 + $1.weightBytes })
    #expect(decode["head"]?.bytes == 3 * 50 * 16 * 4)  // the tied embedding
    #expect(profile.entries(of: "prefill").first { $0.name == "embedding" }?.entry.calls == 1)
  }
}
