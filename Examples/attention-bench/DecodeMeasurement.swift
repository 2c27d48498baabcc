import CostModel
import Linalg
import MoE
import Report

/// Decode latency per token against context, and KV-cache bytes per token measured from
/// the cache beside `CostModel`'s figure for the same attention.
struct DecodeMeasurement {
  var kinds: [AttentionKindUnderTest]
  var contexts: [Int]
  var repetitions: Int

  func report() -> String {
    var latency = Table(
      header: ["attention"] + contexts.map { "ms/token @ \($0)" } + ["vs MHA @ \(contexts.last!)"],
      alignments: [.left] + Array(repeating: .right, count: contexts.count + 1))
    var memory = Table(
      header: ["attention", "KV bytes/token/layer, measured", "CostModel", "agree", "vs MHA"],
      alignments: [.left, .right, .right, .left, .right])
    var generator = Xoshiro256StarStar(seed: 3)
    var baseline: (time: Double, bytes: Int)?
    for kind in kinds {
      let layer = kind.make(&generator)
      var times: [Double] = []
      var bytesPerToken = 0
      for context in contexts {
        var cache = Self.makeCache(layer, capacity: context + repetitions + 2)
        // The cache's contents do not change the work: fill it with random keys and values.
        cache.append(
          keys: Matrix.normal(rows: context, columns: cache.keyWidth, using: &generator),
          values: Matrix.normal(rows: context, columns: cache.valueWidth, using: &generator))
        let x = Matrix<Float>.normal(rows: 1, columns: Self.dimensions(layer), using: &generator)
        times.append(Stopwatch.median(repetitions: repetitions) { _ = Self.step(layer, x, &cache) })
        bytesPerToken = cache.byteCount / cache.count
      }
      let predicted = kind.cost.cachedValuesPerToken * MemoryLayout<Float>.size
      let base = baseline ?? (times.last!, bytesPerToken)
      baseline = base
      latency.append(
        [kind.name] + times.map { Format.fixed($0 * 1e3, 3) } + [Format.fixed(times.last! / base.time, 2)])
      memory.append([
        kind.name, "\(bytesPerToken)", "\(predicted)", bytesPerToken == predicted ? "yes" : "NO",
        Format.fixed(Double(bytesPerToken) / Double(base.bytes), 3),
      ])
    }
    return """
      Decode: one new token attending to the context (a single layer, one sequence)
      \(latency.markdown)
      KV cache per token and layer (Float)
      \(memory.markdown)
      """
  }

  static func makeCache(_ layer: AttentionSublayer<Float>, capacity: Int) -> KVCache<Float> {
    switch layer {
    case .grouped(let a): a.makeCache(capacity: capacity)
    case .latent(let a): a.makeCache(capacity: capacity)
    case .recurrent(let a): a.makeCache()
    }
  }

  static func dimensions(_ layer: AttentionSublayer<Float>) -> Int {
    switch layer {
    case .grouped(let a): a.dimensions
    case .latent(let a): a.dimensions
    case .recurrent(let a): a.dimensions
    }
  }

  static func step(_ layer: AttentionSublayer<Float>, _ x: Matrix<Float>, _ cache: inout KVCache<Float>)
    -> Matrix<Float>
  {
    switch layer {
    case .grouped(let a): a.forward(x, cache: &cache)
    case .latent(let a): a.forward(x, cache: &cache)
    case .recurrent(let a): a.forward(x, cache: &cache)
    }
  }
}
