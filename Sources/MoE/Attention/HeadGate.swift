import Linalg

/// Chooses which attention heads run for an input — task-adaptive head pruning, as the
/// article describes for ERNIE 4.5 (85 % of heads for code, 40 % for simple questions):
/// a small gate (`head_gate`, `d → H`, no bias) scores every head from the mean of the
/// input's tokens, and the best-scoring heads run (`MultiHeadAttention`'s `activeHeads`).
///
/// How many run is either a fraction the caller sets per input or per declared task type
/// (`.fraction`), or the gate's own decision (`.threshold`: every head whose `σ(score)`
/// reaches it). The selection has no gradient; the gate learns through `weights`, which
/// scale the chosen heads' outputs by `σ(score)` (as in mixture-of-attention-heads, Zhang
/// et al. 2022, arXiv 2210.05144): pass them as `MultiHeadAttention`'s `headWeights` and
/// the gradients `backwardWithHeadWeights` returns to `backward` here.
public struct HeadGate<Scalar: BLASScalar>: Sendable, ParameterContainer {
  /// The scores: `mean_t(x_t)·W_gᵀ`, one per head.
  public var scorer: Linear<Scalar>

  /// How many heads run.
  public enum Budget: Sendable, Equatable {
    /// The `max(1, ⌈f·H⌉)` best-scoring heads (ties to the lower index).
    case fraction(Double)
    /// The heads with `σ(score) ≥ t`, or the single best if none reaches it.
    case threshold(Double)
  }

  /// A gate over `heads` heads of a width-`dimensions` layer.
  public init(dimensions: Int, heads: Int, using generator: inout some RandomNumberGenerator) {
    scorer = Linear(inputDimensions: dimensions, outputDimensions: heads, bias: false, using: &generator)
  }

  /// A gate with the given scorer (`heads × d`).
  public init(scorer: Linear<Scalar>) { self.scorer = scorer }

  /// The heads to run for `x` (`T × d`), sorted.
  public func select(_ x: Matrix<Scalar>, budget: Budget) -> [Int] {
    let scores = scorer(Matrix(row: x.columnMeans())).elements
    let ranked = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
    switch budget {
    case .fraction(let f):
      precondition(f > 0 && f <= 1, "HeadGate: fraction \(f) must be in (0, 1]")
      let count = Swift.max(1, Int((f * Double(scores.count)).rounded(.up)))
      return ranked.prefix(count).sorted()
    case .threshold(let t):
      let chosen = ranked.filter { ElementwiseFunction.sigmoid(scores[$0]) >= Scalar(t) }
      return (chosen.isEmpty ? [ranked[0]] : chosen).sorted()
    }
  }

  /// `σ(score_h)` for each head in `heads`: the factors on those heads' outputs.
  public func weights(_ x: Matrix<Scalar>, heads: [Int]) -> [Scalar] {
    let scores = scorer(Matrix(row: x.columnMeans())).elements
    return heads.map { ElementwiseFunction.sigmoid(scores[$0]) }
  }

  /// The backward pass of `weights`: from `∂L/∂w` (one per head in `heads`), accumulates
  /// the scorer's gradient (`∂W_h += ∂w_h·σ′·mean(x)`) and returns `∂x` (each of the `T`
  /// tokens gets `1/T` of the mean's gradient).
  public mutating func backward(_ dWeights: [Scalar], input x: Matrix<Scalar>, heads: [Int]) -> Matrix<Scalar>
  {
    precondition(
      dWeights.count == heads.count, "HeadGate: \(dWeights.count) gradients for \(heads.count) heads")
    let mean = Matrix(row: x.columnMeans())
    let values = weights(x, heads: heads)
    var dScores = Matrix<Scalar>(rows: 1, columns: scorer.outputDimensions)
    for (i, h) in heads.enumerated() { dScores[0, h] = dWeights[i] * values[i] * (1 - values[i]) }
    let dMean = scorer.backward(dScores, input: mean)
    return Matrix(rows: x.rows, columns: x.columns) { _, j in dMean[0, j] / Scalar(x.rows) }
  }

  /// Visits `head_gate.weight`.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    scorer.visitParameters(prefix: Self._join(prefix, "head_gate"), body)
  }
}
