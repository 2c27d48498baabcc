import Foundation
import Linalg
import MoE
import ModelIO
import Testing

/// The expert cache: eviction by hand-worked sequences, serving through the cache equal to
/// the model in memory, prefetching, trace replay equal to the real cache, and errors.
@Suite struct ExpertCacheTests {
  typealias Key = ExpertResidency.Key

  static func keys(_ names: String) -> [Key] {
    names.map { Key(layer: 0, expert: Int($0.asciiValue! - 65)) }  // "A" is expert 0
  }

  /// Capacity 2. LRU: A B A C evicts B (A was used after it); then B evicts A.
  /// LFU: A A B C evicts B (A has two uses); then B (now two uses) evicts C.
  @Test func evictionFollowsThePolicy() {
    var lru = ExpertResidency(budgetBytes: 20, expertBytes: 10, policy: .leastRecentlyUsed)
    let lruOutcomes = Self.keys("ABACB").map { lru.access($0) }
    #expect(
      lruOutcomes == [
        .miss(evicted: []), .miss(evicted: []), .hit, .miss(evicted: Self.keys("B")),
        .miss(evicted: Self.keys("A")),
      ])
    var lfu = ExpertResidency(budgetBytes: 25, expertBytes: 10, policy: .leastFrequentlyUsed)
    let lfuOutcomes = Self.keys("AABCB").map { lfu.access($0) }
    #expect(
      lfuOutcomes == [
        .miss(evicted: []), .hit, .miss(evicted: []), .miss(evicted: Self.keys("B")),
        .miss(evicted: Self.keys("C")),
      ])
    #expect(lfu.resident == Set(Self.keys("AB")))
  }

  /// Two MoE layers (the second with a shared expert) in `Double`; experts written to a
  /// file; a cache of three experts (of twelve).
  static func layers() -> [MoELayer<Double>] {
    var g = Xoshiro256StarStar(seed: 51)
    return (0..<2).map { i in
      MoELayer<Double>(
        dimensions: 8, hiddenDimensions: 6,
        router: TopKSoftmaxRouter(dimensions: 8, expertCount: 6, k: 2, using: &g),
        sharedHiddenDimensions: i == 1 ? 5 : nil, using: &g)
    }
  }

  /// Decoding token by token through the cache gives the in-memory model's outputs, with
  /// and without prefetching the next layer's experts (its router on the current layer's
  /// input); replaying the recorded trace gives the cache's own hit, miss and prefetch
  /// counts.
  @Test(arguments: [false, true])
  func servingThroughTheCacheEqualsTheModelInMemory(prefetch: Bool) throws {
    let folder = TemporaryFolder()
    let path = folder.path("experts.safetensors")
    let layers = Self.layers()
    try ExpertCache.write(layers, to: path, as: .f64)
    var cache = try ExpertCache<Double>(
      source: try SafeTensorsFile(contentsOfFile: path), budgetBytes: 3 * 3 * 6 * 8 * 8 + 5,
      policy: .leastRecentlyUsed)
    #expect(cache.expertBytes == 3 * 6 * 8 * 8)
    let served = layers.enumerated().map { CachedMoELayer($1, layer: $0) }
    var g = Xoshiro256StarStar(seed: 52)
    var chosen: [[[Int]]] = []
    var predicted: [[[Int]]] = []
    for _ in 0..<10 {
      var inMemory = Matrix<Double>.normal(rows: 1, columns: 8, using: &g)
      var throughCache = inMemory
      var step: [[Int]] = []
      var guesses: [[Int]] = [[], []]
      for (l, layer) in layers.enumerated() {
        inMemory = inMemory + layer(inMemory)
        if prefetch && l == 0 {
          guesses[1] = served[1].chosenExperts(throughCache)
          try cache.prefetch(layer: 1, experts: guesses[1])
        }
        step.append(served[l].chosenExperts(throughCache))
        throughCache = throughCache + (try served[l](throughCache, cache: &cache))
      }
      chosen.append(step)
      predicted.append(guesses)
      #expect(
        throughCache.isApproximatelyEqual(to: inMemory, absoluteTolerance: 1e-13, relativeTolerance: 1e-12))
      #expect(cache.residentBytes <= 3 * cache.expertBytes)
    }
    let stats = cache.statistics
    #expect(stats.hits + stats.misses == 10 * 2 * 2)
    #expect(stats.bytesLoaded == (stats.misses + stats.prefetches) * cache.expertBytes)
    if prefetch { #expect(stats.prefetches > 0) }
    let trace = RoutingTrace(chosen: chosen, predicted: predicted, experts: 6)
    let replay = trace.replay(
      ExpertResidency(
        budgetBytes: 3 * cache.expertBytes, expertBytes: cache.expertBytes, policy: .leastRecentlyUsed),
      prefetch: prefetch)
    #expect(
      replay.hits == stats.hits && replay.misses == stats.misses && replay.prefetches == stats.prefetches)
  }

  @Test func aMissingExpertIsATypedError() throws {
    let folder = TemporaryFolder()
    let path = folder.path("experts.safetensors")
    try ExpertCache.write(Self.layers(), to: path, as: .f32)
    var cache = try ExpertCache<Float>(
      source: try SafeTensorsFile(contentsOfFile: path), budgetBytes: 1 << 20, policy: .leastFrequentlyUsed)
    #expect(throws: CheckpointError.missingTensor("layers.2.experts.0.gate.weight")) {
      _ = try cache.expert(layer: 2, index: 0)
    }
    #expect(throws: CheckpointError.missingTensor("layers.0.experts.6.gate.weight")) {
      _ = try cache.expert(layer: 0, index: 6)
    }
    #expect(cache.residentBytes == 0)
  }

  /// A uniform synthetic trace over 8 experts with room for all of them misses each expert
  /// once per layer; with a perfect predictor, prefetching one layer ahead and room for
  /// three layers' choices, every demand access hits.
  @Test func syntheticTracesReplay() {
    let trace = RoutingTrace.synthetic(
      tokens: 200, layers: 2, experts: 8, k: 2, skew: 0, predictionAccuracy: 1, seed: 3)
    #expect(trace.chosen.count == 200 && trace.layers == 2)
    #expect(trace.chosen.allSatisfy { $0.allSatisfy { Set($0).count == 2 } })
    let roomy = ExpertResidency(budgetBytes: 16, expertBytes: 1, policy: .leastRecentlyUsed)
    #expect(trace.replay(roomy, prefetch: false).misses == 16)
    let tight = ExpertResidency(budgetBytes: 6, expertBytes: 1, policy: .leastRecentlyUsed)
    #expect(trace.replay(tight, prefetch: true).misses == 0)
    #expect(trace.replay(tight, prefetch: false).hitRate < 1)
  }
}

@Suite struct ExpertResidencyTests {
  /// A prefetched batch larger than the budget never takes the cache over it.
  @Test func aBatchLargerThanTheBudgetStaysWithinIt() {
    var residency = ExpertResidency(budgetBytes: 2, expertBytes: 1, policy: .leastFrequentlyUsed)
    let batch = Set((0..<4).map { ExpertResidency.Key(layer: 0, expert: $0) })
    for key in batch.sorted() { _ = residency.access(key, counting: false, sparing: batch) }
    #expect(residency.resident.count == 2)
  }
}
