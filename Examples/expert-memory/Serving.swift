import Linalg
import MoE
import ModelIO
import Report

/// A random MoE stack served token by token through an `ExpertCache` whose budget is a
/// quarter of its experts' `Float` bytes (experts written and held in `weightFormat`, so a
/// compact format fits more of them), with and without prefetching the next layer's likely experts (the next
/// router applied to the current layer's input, before the current layer runs): the
/// measured load bandwidth, the recorded routing trace with its predictions, and a check
/// that the served outputs equal the model in memory (its experts in the same format).
struct Serving {
  var layers: Int, experts: Int, topK: Int, dimensions: Int, tokens: Int
  var weightFormat: WeightMatrix.Format?
  var folder: String

  struct Result {
    var trace: RoutingTrace
    var expertBytes: Int
    /// Bytes per second the cache loaded at.
    var bandwidth: Double
    var summary: String
  }

  func run() throws -> Result {
    var g = Xoshiro256StarStar(seed: 11)
    let stack = (0..<layers).map { _ in
      var layer = MoELayer<Float>(
        dimensions: dimensions, hiddenDimensions: 2 * dimensions,
        router: TopKSoftmaxRouter(dimensions: dimensions, expertCount: experts, k: topK, using: &g), using: &g
      )
      layer.experts = layer.experts.map { $0.converted(to: weightFormat) }
      return layer
    }
    let path = folder + "/experts.safetensors"
    if let weightFormat {
      try ExpertCache.write(stack, to: path, format: weightFormat)
    } else {
      try ExpertCache.write(stack, to: path)
    }
    let file = try SafeTensorsFile(contentsOfFile: path)
    let floatBytes = 3 * 2 * dimensions * dimensions * MemoryLayout<Float>.stride
    let budget = Swift.max(1, layers * experts / 4) * floatBytes
    let servedLayers = stack.enumerated().map { CachedMoELayer($1, layer: $0) }
    let inputs = (0..<tokens).map { _ in Matrix<Float>.normal(rows: 1, columns: dimensions, using: &g) }
    var chosen: [[[Int]]] = []
    var predicted: [[[Int]]] = []
    var largestDifference: Float = 0

    /// Decodes every input through a fresh cache of a quarter of the experts, checking it
    /// against the model in memory; records the trace (and the predictions) when
    /// prefetching.
    func serve(prefetch: Bool) throws -> (cache: ExpertCache<Float>, seconds: Double) {
      var cache = try ExpertCache<Float>(
        source: file, budgetBytes: budget, policy: .leastRecentlyUsed, weightFormat: weightFormat)
      let started = ContinuousClock.now
      for input in inputs {
        var inMemory = input
        var served = input
        var step: [[Int]] = []
        var guesses: [[Int]] = [[]]
        for (l, layer) in stack.enumerated() {
          if prefetch && l + 1 < layers {
            // Layer l + 1's router on layer l's input: known before layer l runs.
            guesses.append(servedLayers[l + 1].chosenExperts(served))
            try cache.prefetch(layer: l + 1, experts: guesses[l + 1])
          }
          step.append(servedLayers[l].chosenExperts(served))
          inMemory = inMemory + layer(inMemory)
          served = served + (try servedLayers[l](served, cache: &cache))
        }
        largestDifference = Swift.max(largestDifference, (served - inMemory).elements.map(abs).max() ?? 0)
        if prefetch {
          chosen.append(step)
          predicted.append(guesses + Array(repeating: [], count: layers - guesses.count))
        }
      }
      return (cache, Stopwatch.seconds(in: ContinuousClock.now - started))
    }
    let prefetchedHitRate = try serve(prefetch: true).cache.statistics.hitRate
    let (cache, total) = try serve(prefetch: false)
    let s = cache.statistics
    let expertBytes = cache.expertBytes
    let resident = cache.residency.capacity
    let bandwidth = Double(s.bytesLoaded) / Swift.max(s.secondsLoading, 1e-9)
    let summary = """
      Served \(tokens) tokens through \(layers) MoE layers of \(experts) experts (top-\(topK), d \(dimensions), \
      \(weightFormat?.rawValue ?? "float32") weights, \(Format.fixed(Double(expertBytes) / 1e6, 3)) MB per expert) \
      with an LRU cache of a quarter of the experts' float32 bytes (\(Format.fixed(Double(budget) / 1e6, 2)) MB, \
      room for \(resident < layers * experts ? "\(resident) of \(layers * experts)" : "all \(layers * experts)") \
      experts): \
      hit rate \(Format.fixed(s.hitRate * 100, 1)) %, \(Format.fixed(Double(s.bytesLoaded) / Double(tokens) / 1e6, 2)) \
      MB loaded per token at \(Format.fixed(bandwidth / 1e9, 2)) GB/s, \
      \(Format.fixed(s.secondsLoading / Double(tokens) * 1e3, 3)) ms of loading per token of \
      \(Format.fixed(total / Double(tokens) * 1e3, 3)) ms; prefetching the next layer's experts (its router on \
      the current layer's input) raised the hit rate to \(Format.fixed(prefetchedHitRate * 100, 1)) %; largest \
      difference from the model in memory \(largestDifference) (the same weights and kernels, so 0 or rounding).

      """
    return Result(
      trace: RoutingTrace(chosen: chosen, predicted: predicted, experts: experts), expertBytes: expertBytes,
      bandwidth: bandwidth,
      summary: summary)
  }
}
