import Foundation
import Linalg
import MoE

/// The experts each token chose at each MoE layer, in decode order — what an expert cache
/// sees — with, optionally, the experts a prefetcher predicted for each layer before it
/// ran. Replaying a trace through `ExpertResidency` costs microseconds, so policies and
/// budgets can be compared over long traces.
public struct RoutingTrace: Sendable, Equatable {
  /// `chosen[t][l]`: the experts token `t` used at layer `l`.
  public var chosen: [[[Int]]]
  /// `predicted[t][l]`: the experts prefetched for layer `l` of token `t` one layer ahead —
  /// while layer `l − 1` runs (layer 0's at the start of the token) — empty for none.
  public var predicted: [[[Int]]]
  /// Experts per layer.
  public var experts: Int

  /// A trace from its parts.
  public init(chosen: [[[Int]]], predicted: [[[Int]]]? = nil, experts: Int) {
    self.chosen = chosen
    self.predicted = predicted ?? chosen.map { $0.map { _ in [] } }
    self.experts = experts
  }

  /// Layers per token.
  public var layers: Int { chosen.first?.count ?? 0 }

  /// A synthetic decode trace: each token picks `k` distinct experts per layer with Zipf
  /// popularity of exponent `skew` (0 is uniform), the popularity order shuffled per layer;
  /// the prediction for layer `l` is right with probability `predictionAccuracy` per
  /// expert, otherwise a random expert.
  public static func synthetic(
    tokens: Int, layers: Int, experts: Int, k: Int, skew: Double, predictionAccuracy: Double = 0, seed: UInt64
  ) -> RoutingTrace {
    precondition(
      k >= 1 && k <= experts && tokens >= 0 && layers >= 1, "RoutingTrace: k \(k) of \(experts) experts")
    var g = Xoshiro256StarStar(seed: seed)
    let weights = (0..<experts).map { 1 / Foundation.pow(Double($0 + 1), skew) }
    let orders = (0..<layers).map { _ in Array(0..<experts).shuffled(using: &g) }
    // k draws without replacement, each in proportion to the weights not yet picked: the
    // distribution of drawing until k distinct experts come up, in exactly k draws however
    // steep the skew (a rejection loop never ends when the top weight dwarfs the rest).
    func draw(_ layer: Int) -> [Int] {
      var remaining = Array(0..<experts)
      var picked: [Int] = []
      for _ in 0..<k {
        let total = remaining.reduce(0) { $0 + weights[$1] }
        var index = 0
        if total > 0 {
          var u = Double.random(in: 0..<total, using: &g)
          while index < remaining.count - 1 && u >= weights[remaining[index]] {
            u -= weights[remaining[index]]
            index += 1
          }
        }
        picked.append(orders[layer][remaining.remove(at: index)])
      }
      return picked
    }
    var chosen: [[[Int]]] = []
    var predicted: [[[Int]]] = []
    for _ in 0..<tokens {
      let step = (0..<layers).map(draw)
      chosen.append(step)
      predicted.append(
        step.map { picks in
          predictionAccuracy == 0
            ? []
            : picks.map {
              Double.random(in: 0..<1, using: &g) < predictionAccuracy
                ? $0 : Int.random(in: 0..<experts, using: &g)
            }
        })
    }
    return RoutingTrace(chosen: chosen, predicted: predicted, experts: experts)
  }

  /// What replaying the trace through a cache did.
  public struct Replay: Sendable, Equatable {
    /// Demand accesses that found the expert resident.
    public var hits = 0
    /// Demand accesses that loaded it.
    public var misses = 0
    /// Loads made by prefetching.
    public var prefetches = 0
    /// `hits / (hits + misses)`.
    public var hitRate: Double { hits + misses == 0 ? 1 : Double(hits) / Double(hits + misses) }
    /// Experts loaded per token (on demand and by prefetching).
    public func loadsPerToken(tokens: Int) -> Double {
      Double(misses + prefetches) / Double(Swift.max(tokens, 1))
    }
  }

  /// Replays every token's layers in order through `residency`; with `prefetch`, each
  /// layer's predictions are prefetched one layer ahead (`ExpertResidency.prefetch`, as
  /// `ExpertCache.prefetch` does).
  public func replay(_ residency: ExpertResidency, prefetch: Bool) -> Replay {
    var residency = residency
    var result = Replay()
    func prefetchBatch(_ t: Int, _ l: Int) {
      result.prefetches +=
        residency.prefetch(Set(predicted[t][l].map { .init(layer: l, expert: $0) })).loaded.count
    }
    for (t, step) in chosen.enumerated() {
      if prefetch { prefetchBatch(t, 0) }
      for (l, experts) in step.enumerated() {
        if prefetch && l + 1 < step.count { prefetchBatch(t, l + 1) }
        for e in experts {
          if case .hit = residency.access(.init(layer: l, expert: e)) {
            result.hits += 1
          } else {
            result.misses += 1
          }
        }
      }
    }
    return result
  }
}
