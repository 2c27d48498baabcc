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

  /// A GGUF file's experts, named as its family names them (each expert a slice of a stacked
  /// `ffn_*_exps` tensor), serve what the loaded model's experts give: held in the gate's
  /// stored block format (Q4_K; matrices stored so are copied as they are, the Q4_K_M recipe's
  /// Q6_K down projections converted from their exact values), or expanded to Float.
  @Test(arguments: [true, false]) func servesTheExpertsOfAGGUFFile(compact: Bool) throws {
    let file = try GGUFFile(contentsOfFile: Fixtures.path("gguf/models/qwen3_moe-Q4_K_M.gguf"))
    let checkpoint = try HuggingFaceCheckpoint(gguf: file)
    let source = try GGUFTensorSource(
      file, architecture: try GGUFArchitecture.of(file), family: checkpoint.family)
    let naming = ExpertNaming.family(checkpoint.family)
    let stored = try #require(
      try source.compactFormat(of: naming.names(layer: 1, expert: 2).gate + ".weight"))
    var cache = try ExpertCache<Float>(
      source: source, naming: naming, budgetBytes: 1 << 22, policy: .leastRecentlyUsed,
      weightFormat: compact ? stored : nil)
    var g = Xoshiro256StarStar(seed: 8)
    let x = Matrix<Float>.normal(rows: 3, columns: checkpoint.width, using: &g)
    for layer in 0..<2 {
      guard case .moe(let moe) = try checkpoint.feedForward(layer: layer, as: Float.self) else {
        Issue.record("layer \(layer) is not MoE")
        continue
      }
      for e in moe.experts.indices {
        let cached = try cache.expert(layer: layer, index: e)
        var expert = moe.experts[e]
        if compact {
          // A matrix stored in another format is converted from its exact values.
          for path in [\FeedForward<Float>.up, \.down]
          where expert[keyPath: path].compactWeight?.format != stored {
            expert[keyPath: path] = Linear(
              compactWeight: WeightMatrix(expert[keyPath: path].expandedWeight, format: stored))
          }
        }
        let (ours, theirs) = (cached(x), expert(x))
        if compact {
          #expect(ours == theirs, "layer \(layer) expert \(e)")
        } else {
          // Float products against the blocks' own kernels (activations rounded to 8 bits).
          let scale = theirs.elements.map(abs).max()!
          #expect(zip(ours.elements, theirs.elements).allSatisfy { abs($0 - $1) <= 0.05 * scale })
        }
      }
    }
    #expect(cache.statistics.misses == 8)
    #expect(cache.expertBytes == (compact ? 3 * 256 * 144 : 3 * 256 * 256 * 4))
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

  /// Float layers for the compact tests: widths that are not multiples of the block of 32
  /// (d 40, h 24), so every matrix has a padded last block.
  static func floatLayers() -> [MoELayer<Float>] {
    var g = Xoshiro256StarStar(seed: 53)
    return (0..<2).map { _ in
      MoELayer<Float>(
        dimensions: 40, hiddenDimensions: 24,
        router: TopKSoftmaxRouter(dimensions: 40, expertCount: 4, k: 2, using: &g), using: &g)
    }
  }

  /// Experts written compact and held compact serve what the in-memory layers give with
  /// their experts converted to the same format, from a file of that format or quantized
  /// at load from a Float file; an expert takes the format's bytes, so the same budget
  /// holds more of them.
  @Test(arguments: [WeightMatrix.Format.bf16, .q8, .q4], [false, true])
  func compactExpertsServeTheConvertedModel(format: WeightMatrix.Format, quantizeAtLoad: Bool) throws {
    let folder = TemporaryFolder()
    let path = folder.path("experts.safetensors")
    let layers = Self.floatLayers()
    if quantizeAtLoad {
      try ExpertCache.write(layers, to: path, as: .f32)
    } else {
      try ExpertCache.write(layers, to: path, format: format)
    }
    let floatBytes = 3 * 24 * 40 * 4
    let heldBytes =
      2 * WeightMatrix.byteCount(format, rows: 24, columns: 40)
      + WeightMatrix.byteCount(format, rows: 40, columns: 24)
    var cache = try ExpertCache<Float>(
      source: try SafeTensorsFile(contentsOfFile: path), budgetBytes: 2 * floatBytes,
      policy: .leastRecentlyUsed,
      weightFormat: format)
    #expect(cache.expertBytes == heldBytes)
    #expect(cache.residency.capacity == 2 * floatBytes / heldBytes)
    let converted = layers.map { layer in
      var layer = layer
      layer.experts = layer.experts.map { $0.converted(to: format) }
      return layer
    }
    let served = layers.enumerated().map { CachedMoELayer($1, layer: $0) }
    var g = Xoshiro256StarStar(seed: 54)
    for _ in 0..<6 {
      var inMemory = Matrix<Float>.normal(rows: 1, columns: 40, using: &g)
      var throughCache = inMemory
      for (l, layer) in converted.enumerated() {
        inMemory = inMemory + layer(inMemory)
        throughCache = throughCache + (try served[l](throughCache, cache: &cache))
      }
      #expect(
        throughCache.isApproximatelyEqual(to: inMemory, absoluteTolerance: 1e-5, relativeTolerance: 1e-5))
    }
    let expert = try cache.expert(layer: 1, index: 3)
    #expect(expert.up.compactWeight?.format == format)
    #expect(
      expert.down.compactWeight?.dequantized() == converted[1].experts[3].down.compactWeight?.dequantized())
  }

  /// A quantized file read by a `Float` (or `Double`) cache without a compact format
  /// expands to the dequantized values exactly.
  @Test func aQuantizedFileExpandsExactly() throws {
    let folder = TemporaryFolder()
    let path = folder.path("experts.safetensors")
    let layers = Self.floatLayers()
    try ExpertCache.write(layers, to: path, format: .q4)
    let file = try SafeTensorsFile(contentsOfFile: path)
    var cache = try ExpertCache<Double>(source: file, budgetBytes: 1 << 20, policy: .leastRecentlyUsed)
    #expect(cache.expertBytes == 3 * 24 * 40 * 8)
    let expected = WeightMatrix(layers[0].experts[2].gate!.weight.value, format: .q4).dequantized()
    let gate = try cache.expert(layer: 0, index: 2).gate!.weight.value
    #expect(gate.elements == expected.elements.map { Double($0) })
  }

  /// A quantized expert missing its scales, or with scales of another element type, is
  /// refused by name.
  @Test func brokenQuantizedPartsAreTypedErrors() throws {
    let folder = TemporaryFolder()
    let path = folder.path("experts.safetensors")
    try ExpertCache.write(Self.floatLayers(), to: path, format: .q8)
    let file = try SafeTensorsFile(contentsOfFile: path)
    var tensors: [String: Tensor] = [:]
    for name in file.names {
      tensors[name] = Tensor(
        dataType: try file.dataType(of: name), shape: try file.shape(of: name),
        bytes: Array(try file.rawBytes(name)))
    }
    let scales = "layers.0.experts.0.down.scales"
    let kept = tensors[scales]!
    tensors[scales] = nil
    try SafeTensorsWriter.write(tensors, to: path)
    #expect(throws: CheckpointError.missingTensor(scales)) {
      _ = try ExpertCache<Float>(
        source: try SafeTensorsFile(contentsOfFile: path), budgetBytes: 1 << 20, policy: .leastRecentlyUsed)
    }
    tensors[scales] = Tensor(dataType: .bf16, shape: kept.shape, bytes: kept.bytes)
    try SafeTensorsWriter.write(tensors, to: path)
    #expect(throws: CheckpointError.unsupportedField(field: scales, value: "BF16", supported: "F16")) {
      _ = try ExpertCache<Float>(
        source: try SafeTensorsFile(contentsOfFile: path), budgetBytes: 1 << 20, policy: .leastRecentlyUsed)
    }
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

  /// A skew so steep that every weight but the first underflows still draws k distinct
  /// experts per layer, in bounded time; and the draws follow the weights: at Zipf 1 over 4
  /// experts with k = 1, the most popular expert takes 1/(1 + 1/2 + 1/3 + 1/4) = 48 % of picks.
  @Test func steepSkewsDrawDistinctExpertsAndFollowTheWeights() {
    for skew in [50.0, 400.0] {
      let trace = RoutingTrace.synthetic(tokens: 50, layers: 3, experts: 64, k: 8, skew: skew, seed: 1)
      #expect(trace.chosen.allSatisfy { $0.allSatisfy { Set($0).count == 8 } }, "skew \(skew)")
    }
    let trace = RoutingTrace.synthetic(tokens: 20_000, layers: 1, experts: 4, k: 1, skew: 1, seed: 2)
    var counts = [Int](repeating: 0, count: 4)
    for token in trace.chosen { counts[token[0][0]] += 1 }
    let top = Double(counts.max()!) / 20_000
    #expect(abs(top - 12.0 / 25.0) < 0.015, "\(counts)")
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
