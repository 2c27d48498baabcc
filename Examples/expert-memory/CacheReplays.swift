import ModelIO
import Report

/// Every trace replayed for each policy, budget and prefetch setting.
struct CacheReplays {
  var traces: [(String, RoutingTrace)]
  var expertBytes: Int
  var bandwidth: Double

  static let budgetShares = [0.125, 0.25, 0.5, 0.75]

  func table() -> String {
    var table = Table(
      header: [
        "trace", "budget (share of experts)", "policy", "prefetch", "hit rate", "experts loaded/token",
        "MB loaded/token", "added ms/token",
      ],
      alignments: [.left, .right, .left, .left, .right, .right, .right, .right])
    for (name, trace) in traces {
      let total = trace.layers * trace.experts
      for share in Self.budgetShares {
        let capacity = Swift.max(1, Int(Double(total) * share))
        for policy in ExpertResidency.Policy.allCases {
          for prefetch in [false, true]
          where !prefetch || trace.predicted.contains(where: { $0.contains { !$0.isEmpty } }) {
            let replay = trace.replay(
              ExpertResidency(budgetBytes: capacity * expertBytes, expertBytes: expertBytes, policy: policy),
              prefetch: prefetch)
            let tokens = trace.chosen.count
            let perToken = replay.loadsPerToken(tokens: tokens)
            // Prefetches overlap the compute before the layer; demand misses stall it.
            let stall = Double(replay.misses) / Double(tokens) * Double(expertBytes) / bandwidth
            table.append([
              name, "\(Format.fixed(share * 100, 1)) % (\(capacity))", policy.rawValue,
              prefetch ? "yes" : "no",
              Format.fixed(replay.hitRate * 100, 1) + " %", Format.fixed(perToken, 2),
              Format.fixed(perToken * Double(expertBytes) / 1e6, 2), Format.fixed(stall * 1e3, 3),
            ])
          }
        }
      }
    }
    return """
      Cache replays: each trace's tokens in order, every layer's experts on demand (and, with prefetch, the \
      predicted experts first); added latency = demand misses × expert bytes ÷ the load bandwidth measured above \
      (prefetch loads are assumed to overlap the preceding compute)
      \(table.markdown)
      """
  }

  /// Hit rate against budget (1/16 … 16/16 of the experts) for each policy, on `trace`.
  func chart(trace: (String, RoutingTrace)) -> LineChart {
    let total = trace.1.layers * trace.1.experts
    let shares = (1...16).map { Double($0) / 16 }
    return LineChart(
      title: "Expert cache hit rate, \(trace.0) trace", xLabel: "budget (share of all experts)",
      yLabel: "hit rate",
      series: ExpertResidency.Policy.allCases.flatMap { policy in
        [false, true].map { prefetch in
          LineChart.Series(
            name: policy.rawValue + (prefetch ? " + prefetch" : ""),
            values: shares.map { share in
              trace.1.replay(
                ExpertResidency(
                  budgetBytes: Swift.max(1, Int(Double(total) * share)) * expertBytes,
                  expertBytes: expertBytes,
                  policy: policy),
                prefetch: prefetch
              ).hitRate
            }, positions: shares)
        }
      })
  }
}
