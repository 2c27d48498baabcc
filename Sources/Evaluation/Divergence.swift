import Foundation

/// How far a model's next-token distributions are from a reference's at the same positions:
/// per position `KL(P_ref ‖ P) = Σ_v P_ref(v)·(log P_ref(v) − log P(v))` (nats, log-softmax in
/// `Double`), their mean and 99th percentile, and the share of positions whose most likely
/// token is the reference's — the figures llama.cpp's `llama-perplexity --kl-divergence` reports
/// for a quantized model against its original.
public struct Divergence: Sendable {
  /// Each position's divergence, in the order added.
  public private(set) var values: [Double] = []
  /// Positions whose arg-max token is the reference's.
  public private(set) var topOneAgreements = 0

  /// Nothing compared yet.
  public init() {}

  /// Compares one position's logits with the reference's.
  ///
  /// - Precondition: both rows have the same length.
  public mutating func add<Row: Collection>(reference: Row, model: Row) where Row.Element == Float {
    let (p, q) = (Array(reference), Array(model))
    precondition(p.count == q.count && !p.isEmpty, "Divergence: \(p.count) against \(q.count) logits")
    let (logP, logQ) = (Perplexity.logSoftmax(p), Perplexity.logSoftmax(q))
    values.append(Swift.max(0, zip(logP, logQ).reduce(0.0) { $0 + exp($1.0) * ($1.0 - $1.1) }))
    if p.indices.max(by: { p[$0] < p[$1] }) == q.indices.max(by: { q[$0] < q[$1] }) { topOneAgreements += 1 }
  }

  /// Compares one position's logits with a saved reference's (`ReferenceLogits`): the
  /// divergence over the reference's top tokens and the rest together (`KL_top`, at most the
  /// full divergence), top-1 agreement against the reference's most likely token.
  ///
  /// - Precondition: `model` has a logit for every id of the position.
  public mutating func add<Row: Collection>(reference: ReferenceLogits.Position, model: Row)
  where Row.Element == Float {
    let logQ = Perplexity.logSoftmax(Array(model))
    precondition(
      reference.ids.allSatisfy { logQ.indices.contains($0) },
      "Divergence: reference ids beyond \(logQ.count) logits")
    var kl = 0.0
    for (id, lp) in zip(reference.ids, reference.logProbabilities) {
      kl += exp(Double(lp)) * (Double(lp) - logQ[id])
    }
    let lr = Double(reference.restLogProbability)
    if lr > -.infinity {
      let kept = Set(reference.ids)
      let logRestQ = ReferenceLogits.logSumExp(logQ.indices.filter { !kept.contains($0) }.map { logQ[$0] })
      kl += exp(lr) * (lr - logRestQ)
    }
    values.append(Swift.max(0, kl))
    if reference.ids.first == logQ.indices.max(by: { logQ[$0] < logQ[$1] }) { topOneAgreements += 1 }
  }

  /// The mean divergence (0 with nothing compared).
  public var mean: Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }

  /// The `q` quantile of the divergences (nearest rank; 0 with nothing compared).
  public func quantile(_ q: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[Swift.min(sorted.count - 1, Swift.max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))]
  }

  /// The share of positions whose arg-max token is the reference's.
  public var topOneAgreement: Double { values.isEmpty ? 0 : Double(topOneAgreements) / Double(values.count) }
}
