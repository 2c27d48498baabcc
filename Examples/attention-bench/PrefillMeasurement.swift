import CostModel
import Linalg
import MoE
import Report

/// Prefill throughput of multi-head attention with a fraction of its heads running
/// (chosen per input by a `HeadGate`), beside the ratio `CostModel` predicts.
struct PrefillMeasurement {
  var dimensions: Int
  var heads: Int
  var tokens: Int
  var fractions: [Double]
  var repetitions: Int

  func report() -> String {
    var generator = Xoshiro256StarStar(seed: 5)
    let d = dimensions
    let attention = MultiHeadAttention<Float>(dimensions: d, heads: heads, using: &generator)
    let gate = HeadGate<Float>(dimensions: d, heads: heads, using: &generator)
    let x = Matrix<Float>.normal(rows: tokens, columns: d, using: &generator)
    let layout = SequenceLayout.single(tokens)
    let times = Stopwatch.interleavedMedians(
      repetitions: repetitions,
      fractions.map { f in
        { _ = attention(x, layout: layout, activeHeads: gate.select(x, budget: .fraction(f))) }
      })
    var table = Table(
      header: [
        "heads active", "ms", "tokens/s", "time vs all heads", "CostModel predicts", "FLOPs of what runs",
      ],
      alignments: [.left, .right, .right, .right, .right, .right])
    let full = runningFLOPs(fraction: 1)
    for (f, time) in zip(fractions, times) {
      let running = gate.select(x, budget: .fraction(f)).count
      let actual = Double(running) / Double(heads)
      table.append([
        "\(Format.fixed(f * 100, 0)) % (\(running) of \(heads))", Format.fixed(time * 1e3, 1),
        Format.fixed(Double(tokens) / time, 0), Format.fixed(time / times[0], 2),
        Format.fixed(predicted(fraction: f), 2),
        Format.fixed(runningFLOPs(fraction: actual) / full, 2),
      ])
    }
    return """
      Prefill: \(tokens) tokens, d \(d), \(heads) heads of \(d / heads), causal; a HeadGate picks the heads per input
      \(table.markdown)
      "CostModel predicts" prunes only the per-head query and output projections and keeps keys and values (its \
      convention for the article's ERNIE row, at the mean context \(tokens / 2)); MoEKit also skips the keys and \
      values of heads that do not run ("FLOPs of what runs", the same formula with every projection per head).

      """
  }

  /// `CostModel`'s attention FLOP ratio for one layer with `fraction` of the heads kept,
  /// at the prefill's mean context.
  func predicted(fraction: Double) -> Double {
    func architecture(_ f: Double) -> Architecture {
      Architecture(
        name: "attention", vocabularySize: 1, width: dimensions, layers: 1,
        attention: .mha(heads: heads, headDim: dimensions / heads),
        denseFeedForward: FeedForwardShape(hidden: 1),
        attentionSparsity: AttentionSparsity(headFractions: [.init(share: 1, fraction: f)]))
    }
    let context = (tokens + 1) / 2
    return architecture(fraction).attentionFLOPs(layer: 0, context: context)
      / architecture(1).attentionFLOPs(layer: 0, context: context)
  }

  /// FLOPs per token of MHA with `fraction` of the heads running, every projection counted
  /// per head: `2·4·f·d² + 2·f·H·2D·context` (`H·D = d`).
  func runningFLOPs(fraction f: Double) -> Double {
    let d = Double(dimensions)
    let context = Double((tokens + 1) / 2)
    return 2 * 4 * f * d * d + 2 * f * d * 2 * context
  }
}
