import Evaluation
import Foundation
import Linalg
import MoE
import Testing

/// Windows cover every token once; perplexity and divergence against sums written out in
/// `Double` by hand.
@Suite struct EvaluationTests {
  @Test func windowsScoreEveryTokenAfterTheFirstOnce() {
    for (count, context, stride) in [(10, 4, 2), (10, 4, 4), (9, 9, 3), (2, 2, 1), (100, 7, 3), (5, 16, 8)] {
      let windows = Array(ScoringWindows(count: count, context: context, stride: stride))
      #expect(windows.flatMap { Array($0.targets) } == Array(1..<count), "\(count) \(context) \(stride)")
      for w in windows {
        #expect(w.tokens.count <= context && w.targets.upperBound == w.tokens.upperBound)
        #expect(w.targets.lowerBound > w.tokens.lowerBound)
      }
    }
    #expect(
      Array(ScoringWindows(count: 10, context: 4, stride: 2)).map(\.tokens) == [0..<4, 2..<6, 4..<8, 6..<10])
  }

  @Test func perplexityIsTheExponentOfTheMeanNegativeLogLikelihood() {
    var p = Perplexity()
    #expect(p.value == .infinity)
    p.add(logits: [0, 0, 0, 0] as [Float], target: 2)  // p = 1/4
    let three = Double(Float(log(3.0)))  // the logit as the Float row holds it
    p.add(logits: [Float(three), 0, 0, 0], target: 0)  // p ≈ 3/6
    let nll = -log(0.25) - (three - log(exp(three) + 3))
    #expect(abs(p.negativeLogLikelihood - nll) < 1e-12 && p.tokens == 2)
    #expect(abs(p.value - exp(nll / 2)) < 1e-12)
    #expect(abs(p.bitsPerByte(bytes: 3) - nll / log(2) / 3) < 1e-12)
    // Huge logits do not overflow: the row maximum is subtracted first.
    var big = Perplexity()
    big.add(logits: [1e30, 1e30] as [Float], target: 1)
    #expect(abs(big.value - 2) < 1e-12)
  }

  @Test func divergenceAgainstTheSumWrittenOut() {
    var d = Divergence()
    d.add(reference: [1, 2, 3] as [Float], model: [1, 2, 3] as [Float])
    #expect(d.values == [0] && d.topOneAgreement == 1)
    let (p, q): ([Double], [Double]) = ([0.7, 0.2, 0.1], [0.2, 0.5, 0.3])
    d.add(reference: p.map { Float(log($0)) }, model: q.map { Float(log($0)) })
    let kl = zip(p, q).reduce(0.0) { $0 + $1.0 * log($1.0 / $1.1) }
    #expect(abs(d.values[1] - kl) < 1e-6)
    #expect(d.topOneAgreements == 1 && d.topOneAgreement == 0.5)
    #expect(abs(d.mean - kl / 2) < 1e-6 && d.quantile(0.99) == d.values[1] && d.quantile(0.5) == 0)
  }

  /// Windowed scoring of a model equals scoring each target from the model's own logits over
  /// the window (the first window scores them all, later ones only new targets).
  @Test func aModelIsScoredOnItsOwnLogits() {
    var g = Xoshiro256StarStar(seed: 3)
    let model = DecoderModel<Float>(
      vocabulary: 40, dimensions: 16, layout: .firstDense(layers: 2, firstDenseLayers: 1),
      denseHiddenDimensions: 24,
      using: &g,
      makeAttention: { _, g in .grouped(MultiHeadAttention(dimensions: 16, heads: 2, kvHeads: 1, using: &g))
      },
      makeMoE: { _, g in
        MoELayer(
          dimensions: 16, hiddenDimensions: 8,
          router: TopKSoftmaxRouter(dimensions: 16, expertCount: 4, k: 2, using: &g),
          using: &g)
      })
    let tokens = (0..<30).map { ($0 * 7) % 40 }
    var windowed = Perplexity()
    for w in ScoringWindows(count: tokens.count, context: 30, stride: 30) {
      let logits = model.logits(Array(tokens[w.tokens]), layout: .single(w.tokens.count))
      for t in w.targets { windowed.add(logits: logits[row: t - 1], target: tokens[t]) }
    }
    let logits = model.logits(tokens, layout: .single(tokens.count))
    var byHand = 0.0
    for t in 1..<tokens.count {
      let row = (0..<40).map { Double(logits[t - 1, $0]) }
      byHand -= row[tokens[t]] - log(row.map { exp($0) }.reduce(0, +))
    }
    #expect(windowed.tokens == 29 && abs(windowed.negativeLogLikelihood - byHand) < 1e-6 * byHand)
  }
}
