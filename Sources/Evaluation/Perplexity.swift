import Foundation

/// Perplexity and bits per byte accumulated over scored tokens:
/// `ppl = exp(−(1/N)·Σ log p(x_t | x_<t))`, `bits per byte = −Σ log₂ p(x_t | x_<t) / bytes`
/// (the text's UTF-8 bytes, so that tokenizers of different granularity compare).
/// Log-probabilities come from each row of logits by a log-softmax in `Double`.
public struct Perplexity: Sendable {
  /// Tokens scored.
  public private(set) var tokens = 0
  /// `−Σ log p` over them, in nats.
  public private(set) var negativeLogLikelihood = 0.0

  /// Nothing scored yet.
  public init() {}

  /// Scores `target` under the logits `row` (one per vocabulary entry).
  ///
  /// - Precondition: `target` indexes `row`.
  public mutating func add<Row: Collection>(logits row: Row, target: Int) where Row.Element == Float {
    let values = Array(row)
    precondition(values.indices.contains(target), "Perplexity: target \(target) of \(values.count) logits")
    negativeLogLikelihood -= Self.logSoftmax(values)[target]
    tokens += 1
  }

  /// Scores a token whose log-probability (nats) is already known (a saved reference's).
  ///
  /// - Precondition: `logProbability ≤ 0`.
  public mutating func add(logProbability: Double) {
    precondition(logProbability <= 0, "Perplexity: log-probability \(logProbability)")
    negativeLogLikelihood -= logProbability
    tokens += 1
  }

  /// `exp` of the mean negative log-likelihood (∞ when nothing was scored).
  public var value: Double { tokens == 0 ? .infinity : exp(negativeLogLikelihood / Double(tokens)) }

  /// Bits per byte of a text of `bytes` UTF-8 bytes whose tokens were all scored.
  public func bitsPerByte(bytes: Int) -> Double {
    negativeLogLikelihood / log(2) / Double(Swift.max(bytes, 1))
  }

  /// `log softmax(x)` in `Double` (the row maximum subtracted first).
  static func logSoftmax(_ x: [Float]) -> [Double] {
    let largest = Double(x.max() ?? 0)
    let logSum = log(x.reduce(0.0) { $0 + exp(Double($1) - largest) })
    return x.map { (Double($0) - largest) - logSum }
  }
}
