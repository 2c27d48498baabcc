import Foundation
import Linalg

/// How the next token is chosen from a row of logits, in the order `transformers`'
/// `generate` applies its warpers: divide by `temperature`, keep the `topK` largest, keep
/// the smallest set of most likely tokens whose probabilities reach `topP` (nucleus
/// sampling; Holtzman et al. 2019, arXiv 1904.09751), then draw from the softmax of what
/// is left. `temperature == 0` is greedy: the largest logit, the lowest id on ties.
public struct TokenSampler: Sendable, Equatable {
  /// `τ ≥ 0`; 0 picks the most likely token.
  public var temperature: Double
  /// Keep only the `k` most likely tokens (`nil`: all).
  public var topK: Int?
  /// Keep the most likely tokens whose probabilities sum to at least `p` (`0 < p ≤ 1`).
  public var topP: Double

  /// Greedy decoding.
  public static let greedy = TokenSampler(temperature: 0)

  /// A sampler.
  ///
  /// - Precondition: `temperature ≥ 0` and finite, `topK ≥ 1` when given, `0 < topP ≤ 1`.
  public init(temperature: Double, topK: Int? = nil, topP: Double = 1) {
    precondition(
      temperature >= 0 && temperature.isFinite, "TokenSampler: temperature \(temperature) must be ≥ 0")
    precondition((topK ?? 1) >= 1, "TokenSampler: top-k \(topK ?? 0) must be at least 1")
    precondition(topP > 0 && topP <= 1, "TokenSampler: top-p \(topP) must be in (0, 1]")
    (self.temperature, self.topK, self.topP) = (temperature, topK, topP)
  }

  /// The next token for one row of logits.
  public func next<Scalar: BLASScalar>(_ logits: [Scalar], using generator: inout some RandomNumberGenerator)
    -> Int
  {
    precondition(!logits.isEmpty, "TokenSampler: no logits")
    if temperature == 0 {
      var best = 0
      for i in logits.indices where logits[i] > logits[best] { best = i }
      return best
    }
    let values = logits.map { Double($0) }
    var order = values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
    if let topK { order = Array(order.prefix(topK)) }
    let largest = values[order[0]]
    var weights = order.map { Foundation.exp((values[$0] - largest) / temperature) }
    let total = weights.reduce(0, +)
    weights = weights.map { $0 / total }
    if topP < 1 {
      var (kept, sum) = (0, 0.0)
      while kept < weights.count && (kept == 0 || sum < topP) {
        sum += weights[kept]
        kept += 1
      }
      (order, weights) = (Array(order.prefix(kept)), weights.prefix(kept).map { $0 / sum })
    }
    var draw = Double.random(in: 0..<1, using: &generator)
    for (i, w) in weights.enumerated() {
      draw -= w
      if draw < 0 { return order[i] }
    }
    return order[order.count - 1]
  }
}
