import Foundation

/// How a text's tokens spread over each MoE layer's experts: the share of the layer's
/// (token, expert) assignments each expert received — and how far two such distributions
/// (of two texts, say English against Python) are apart, by the Jensen–Shannon divergence
///
///     JS(p, q) = ½·KL(p ‖ m) + ½·KL(q ‖ m),  m = ½(p + q)
///
/// in bits (0 for equal loads, 1 for loads on disjoint experts), defined even where an expert
/// received nothing from one text.
///
/// ### References
/// Lin, "Divergence measures based on the Shannon entropy", IEEE Trans. Inf. Theory 1991.
public struct ExpertLoad: Sendable {
  /// `counts[l][e]`: assignments expert `e` received at layer `l`.
  public private(set) var counts: [[Int]] = []

  /// No tokens yet.
  public init() {}

  /// Adds recorded routing (`RoutingRecorder`'s `experts[l][t]`) at the token rows `rows`,
  /// layers of `experts` experts.
  public mutating func add(_ routing: [[[Int]]], rows: some Sequence<Int>, experts: Int) {
    while counts.count < routing.count { counts.append([Int](repeating: 0, count: experts)) }
    for row in rows {
      for layer in routing.indices {
        for e in routing[layer][row] where e < counts[layer].count { counts[layer][e] += 1 }
      }
    }
  }

  /// Layer `l`'s shares (summing to 1; all 0 for a layer with nothing added).
  public func shares(layer l: Int) -> [Double] {
    let total = counts[l].reduce(0, +)
    return counts[l].map { total == 0 ? 0 : Double($0) / Double(total) }
  }

  /// Per layer, the Jensen–Shannon divergence in bits between `a`'s and `b`'s loads.
  ///
  /// - Precondition: both have the same layers and experts.
  public static func divergence(_ a: ExpertLoad, _ b: ExpertLoad) -> [Double] {
    precondition(
      a.counts.map(\.count) == b.counts.map(\.count),
      "ExpertLoad: \(a.counts.map(\.count)) against \(b.counts.map(\.count)) experts by layer")
    return a.counts.indices.map { l in
      let (p, q) = (a.shares(layer: l), b.shares(layer: l))
      func kl(_ x: [Double], _ m: [Double]) -> Double {
        zip(x, m).reduce(0) { $0 + ($1.0 > 0 ? $1.0 * log2($1.0 / $1.1) : 0) }
      }
      let m = zip(p, q).map { ($0 + $1) / 2 }
      return Swift.max(0, (kl(p, m) + kl(q, m)) / 2)
    }
  }
}
