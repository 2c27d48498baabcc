import Linalg

/// DeepSeek-V3's complementary sequence-wise balance loss, computed for each sequence of
/// the batch and averaged over sequences. For a sequence of `T` tokens, `E` experts and
/// `k` experts per token:
/// `fᵢ = E / (k·T) · Σ_t 1[i chosen for t]`, `s′_{t,i} = s_{t,i} / Σⱼ s_{t,j}`,
/// `Pᵢ = (1/T) Σ_t s′_{t,i}`, `L = α Σᵢ fᵢ · Pᵢ`, where `s` are the router's scores
/// (`decision.probabilities`: the sigmoid scores for DeepSeek-V3). `f` carries no
/// gradient; the gradient flows through the normalised scores.
///
/// ### References
/// DeepSeek-AI 2024, "DeepSeek-V3 Technical Report", arXiv 2412.19437, eq. 17–20.
public struct SequenceBalanceLoss: Sendable {
  /// `α` (DeepSeek-V3 uses 0.0001).
  public var coefficient: Double

  /// A loss with coefficient `α`.
  public init(coefficient: Double = 0.0001) { self.coefficient = coefficient }

  /// The loss of a routing decision whose tokens form sequences of `sequenceLength`
  /// consecutive rows, and its gradient with respect to `decision.probabilities`.
  ///
  /// - Parameters:
  ///   - k: experts per token (the `k` of `fᵢ`'s normaliser).
  ///   - decision: the router's decision over all tokens.
  ///   - sequenceLength: rows per sequence.
  /// - Precondition: `sequenceLength` divides the token count.
  public func evaluate<Scalar: BLASScalar>(
    _ decision: RoutingDecision<Scalar>, sequenceLength: Int, k: Int
  ) -> (loss: Scalar, probabilityGradient: Matrix<Scalar>) {
    let (tokens, e) = (decision.tokenCount, decision.expertCount)
    precondition(
      sequenceLength >= 1 && tokens % sequenceLength == 0,
      "SequenceBalanceLoss: \(tokens) tokens do not split into sequences of \(sequenceLength)")
    let sequences = Swift.max(1, tokens / sequenceLength)
    let alpha = Scalar(coefficient)
    let s = decision.probabilities
    var chosen = Matrix<Scalar>(rows: tokens, columns: e)
    for a in decision.assignments { chosen[a.token, a.expert] = 1 }
    let sums = s.rowSums()
    var normalized = s
    normalized.scaleRows(by: sums.map { 1 / $0 })
    var gradient = Matrix<Scalar>(rows: tokens, columns: e)
    var loss: Scalar = 0
    for q in 0..<sequences {
      let rows = q * sequenceLength..<(q + 1) * sequenceLength
      let f = chosen[rows: rows].columnSums().map { $0 * Scalar(e) / Scalar(k * sequenceLength) }
      let p = normalized[rows: rows].columnMeans()
      loss += alpha * zip(f, p).reduce(0) { $0 + $1.0 * $1.1 } / Scalar(sequences)
      // ∂L/∂s′_{t,i} = α fᵢ / (T · sequences); through s′ = s / Σ s:
      // ∂s_{t,j} = (∂s′_{t,j} − Σᵢ ∂s′_{t,i} s′_{t,i}) / Σ s_t.
      let dNormalized = f.map { alpha * $0 / Scalar(sequenceLength * sequences) }
      for t in rows {
        var inner: Scalar = 0
        for i in 0..<e { inner += dNormalized[i] * normalized[t, i] }
        for j in 0..<e { gradient[t, j] = (dNormalized[j] - inner) / sums[t] }
      }
    }
    return (loss, gradient)
  }
}
