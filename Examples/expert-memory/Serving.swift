import Linalg
import MoE
import ModelIO
import Report

/// A random MoE stack served token by token through an `ExpertCache` holding a quarter of
/// its experts: the measured load bandwidth, the recorded routing trace, and a check that
/// the served outputs equal the model in memory.
struct Serving {
  var layers: Int, experts: Int, topK: Int, dimensions: Int, tokens: Int
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
      MoELayer<Float>(
        dimensions: dimensions, hiddenDimensions: 2 * dimensions,
        router: TopKSoftmaxRouter(dimensions: dimensions, expertCount: experts, k: topK, using: &g), using: &g
      )
    }
    let path = folder + "/experts.safetensors"
    try ExpertCache.write(stack, to: path)
    let file = try SafeTensorsFile(contentsOfFile: path)
    let expertBytes = 3 * 2 * dimensions * dimensions * MemoryLayout<Float>.stride
    var cache = try ExpertCache<Float>(
      source: file, budgetBytes: Swift.max(1, layers * experts / 4) * expertBytes, policy: .leastRecentlyUsed)
    let servedLayers = stack.enumerated().map { CachedMoELayer($1, layer: $0) }
    var chosen: [[[Int]]] = []
    var largestDifference: Float = 0
    let started = ContinuousClock.now
    for _ in 0..<tokens {
      var inMemory = Matrix<Float>.normal(rows: 1, columns: dimensions, using: &g)
      var served = inMemory
      var step: [[Int]] = []
      for (l, layer) in stack.enumerated() {
        step.append(servedLayers[l].chosenExperts(served))
        inMemory = inMemory + layer(inMemory)
        served = served + (try servedLayers[l](served, cache: &cache))
      }
      largestDifference = Swift.max(largestDifference, (served - inMemory).elements.map(abs).max() ?? 0)
      chosen.append(step)
    }
    let (seconds, attoseconds) = (ContinuousClock.now - started).components
    let total = Double(seconds) + Double(attoseconds) * 1e-18
    let s = cache.statistics
    let bandwidth = Double(s.bytesLoaded) / Swift.max(s.secondsLoading, 1e-9)
    let summary = """
      Served \(tokens) tokens through \(layers) MoE layers of \(experts) experts (top-\(topK), d \(dimensions), \
      \(Format.fixed(Double(expertBytes) / 1e6, 2)) MB per expert) with an LRU cache of a quarter of them: \
      hit rate \(Format.fixed(s.hitRate * 100, 1)) %, \(Format.fixed(Double(s.bytesLoaded) / Double(tokens) / 1e6, 2)) \
      MB loaded per token at \(Format.fixed(bandwidth / 1e9, 2)) GB/s, \
      \(Format.fixed(s.secondsLoading / Double(tokens) * 1e3, 3)) ms of loading per token of \
      \(Format.fixed(total / Double(tokens) * 1e3, 3)) ms; largest difference from the model in memory \
      \(largestDifference) (the same arithmetic, so 0).

      """
    return Result(
      trace: RoutingTrace(chosen: chosen, experts: experts), expertBytes: expertBytes, bandwidth: bandwidth,
      summary: summary)
  }
}
