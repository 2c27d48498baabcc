import Foundation
import Linalg
import MoE
import Testing
import _TestSupport

/// RoPE, the attention core, multi-head/grouped-query attention, windows, head-sparse
/// attention, the KV cache and the backward passes, against explicit `Double` loops and
/// central differences.
@Suite struct AttentionTests {
  @Test func ropeRotatesEachPairByPositionTimesFrequency() {
    // D = 4: pairs (0, 2) at θ₀ = 1 and (1, 3) at θ₁ = 10000^(−1/2) = 0.01; position 1.
    let rope = RotaryEmbedding(headDimensions: 4)
    let y = rope.applied(to: Matrix<Double>([[1, 2, 3, 4]]), positions: [1])
    let expected: [Double] = [
      1 * cos(1) - 3 * sin(1), 2 * cos(0.01) - 4 * sin(0.01), 3 * cos(1) + 1 * sin(1),
      4 * cos(0.01) + 2 * sin(0.01),
    ]
    for j in 0..<4 { #expect(abs(y[0, j] - expected[j]) < 1e-15) }
    // Position 0 leaves the vector alone; the inverse undoes the rotation.
    #expect(rope.applied(to: Matrix<Double>([[1, 2, 3, 4]]), positions: [0]) == Matrix([[1, 2, 3, 4]]))
    var back = y
    rope.apply(&back, positions: [1], inverse: true)
    #expect(back.isApproximatelyEqual(to: Matrix([[1, 2, 3, 4]]), absoluteTolerance: 1e-15))
  }

  @Test func ropeScoresDependOnlyOnTheDistance() {
    let rope = RotaryEmbedding(headDimensions: 8, base: 100)
    let q = Reference.randomMatrix(Double.self, rows: 1, columns: 8, seed: 1)
    let k = Reference.randomMatrix(Double.self, rows: 1, columns: 8, seed: 2)
    func score(_ i: Int, _ j: Int) -> Double {
      dot(rope.applied(to: q, positions: [i]), rope.applied(to: k, positions: [j]))
    }
    #expect(abs(score(7, 3) - score(4, 0)) < 1e-12)
    #expect(abs(score(9, 9) - score(0, 0)) < 1e-12)
  }

  /// Patterns: multi-head, grouped-query, multi-query, a window, a head subset, and a
  /// decode step at the end of the keys; 70 queries make two score blocks.
  static let patterns: [(String, ScaledDotProductAttention, queries: Int, keys: Int, active: [Int]?)] = [
    (
      "MHA", ScaledDotProductAttention(heads: 2, kvHeads: 2, keyDimensions: 3, valueDimensions: 3), 70, 70,
      nil
    ),
    (
      "GQA", ScaledDotProductAttention(heads: 4, kvHeads: 2, keyDimensions: 3, valueDimensions: 2), 70, 70,
      nil
    ),
    ("MQA", ScaledDotProductAttention(heads: 3, kvHeads: 1, keyDimensions: 2, valueDimensions: 4), 9, 9, nil),
    (
      "window 5",
      ScaledDotProductAttention(heads: 2, kvHeads: 1, keyDimensions: 3, valueDimensions: 3, window: 5),
      70, 70, nil
    ),
    (
      "heads 1, 3", ScaledDotProductAttention(heads: 4, kvHeads: 2, keyDimensions: 2, valueDimensions: 2), 9,
      9, [1, 3]
    ),
    (
      "decode", ScaledDotProductAttention(heads: 4, kvHeads: 2, keyDimensions: 3, valueDimensions: 3), 3, 11,
      nil
    ),
    (
      "decode window",
      ScaledDotProductAttention(heads: 2, kvHeads: 2, keyDimensions: 3, valueDimensions: 3, window: 4), 2, 11,
      nil
    ),
    (
      "chunks of 5",
      chunked(ScaledDotProductAttention(heads: 4, kvHeads: 2, keyDimensions: 3, valueDimensions: 2), 5), 70,
      70, nil
    ),
    (
      "decode, chunks of 4",
      chunked(ScaledDotProductAttention(heads: 2, kvHeads: 1, keyDimensions: 3, valueDimensions: 3), 4), 3,
      11, nil
    ),
    (
      "sinks",
      withSinks(ScaledDotProductAttention(heads: 4, kvHeads: 2, keyDimensions: 3, valueDimensions: 2)), 70,
      70, nil
    ),
    (
      "sinks, window, heads 0, 3",
      withSinks(
        ScaledDotProductAttention(heads: 4, kvHeads: 2, keyDimensions: 2, valueDimensions: 2, window: 3)), 5,
      9, [0, 3]
    ),
  ]

  /// The pattern attending within chunks of `chunk` positions.
  static func chunked(_ pattern: ScaledDotProductAttention, _ chunk: Int) -> ScaledDotProductAttention {
    var pattern = pattern
    pattern.chunk = chunk
    return pattern
  }

  /// The pattern with a sink logit per head, some large enough to take most of the weight.
  static func withSinks(_ pattern: ScaledDotProductAttention) -> ScaledDotProductAttention {
    var pattern = pattern
    pattern.sinks = (0..<pattern.heads).map { [0.5, -1, 3, 1.5][$0 % 4] }
    return pattern
  }

  @Test(arguments: patterns.indices)
  func coreMatchesExplicitLoops(_ index: Int) {
    let (name, pattern, tq, s, active) = Self.patterns[index]
    let q = Reference.randomMatrix(
      Double.self, rows: tq, columns: pattern.heads * pattern.keyDimensions, seed: 3)
    let k = Reference.randomMatrix(
      Double.self, rows: s, columns: pattern.kvHeads * pattern.keyDimensions, seed: 4)
    let v = Reference.randomMatrix(
      Double.self, rows: s, columns: pattern.kvHeads * pattern.valueDimensions, seed: 5)
    let out = pattern(q, k, v, queryStart: s - tq, activeHeads: active)
    let expected = AttentionReference.attention(
      q: q, k: k, v: v, heads: pattern.heads, kvHeads: pattern.kvHeads, keyDimensions: pattern.keyDimensions,
      valueDimensions: pattern.valueDimensions, window: pattern.window, queryStart: s - tq,
      activeHeads: active, sinks: pattern.sinks, chunk: pattern.chunk)
    #expect(
      out.isApproximatelyEqual(to: expected, absoluteTolerance: 1e-13, relativeTolerance: 1e-12), "\(name)")
  }

  @Test(arguments: patterns.indices)
  func coreBackwardMatchesCentralDifferences(_ index: Int) {
    let (name, pattern, tq, s, active) = Self.patterns[index]
    let (tqSmall, sSmall) = (Swift.min(tq, 6), Swift.min(s, 6) + Swift.min(s - tq, 2))
    let q = Reference.randomMatrix(
      Double.self, rows: tqSmall, columns: pattern.heads * pattern.keyDimensions, seed: 6)
    let k = Reference.randomMatrix(
      Double.self, rows: sSmall, columns: pattern.kvHeads * pattern.keyDimensions, seed: 7)
    let v = Reference.randomMatrix(
      Double.self, rows: sSmall, columns: pattern.kvHeads * pattern.valueDimensions, seed: 8)
    let start = sSmall - tqSmall
    let r = Reference.randomMatrix(
      Double.self, rows: tqSmall, columns: pattern.heads * pattern.valueDimensions, seed: 9)
    let g = pattern.backward(r, q, k, v, queryStart: start, activeHeads: active)
    func loss(_ q: Matrix<Double>, _ k: Matrix<Double>, _ v: Matrix<Double>) -> Double {
      GradientCheck.projection(pattern(q, k, v, queryStart: start, activeHeads: active), r)
    }
    let nq = GradientCheck.numericalGradient(at: q) { loss($0, k, v) }
    let nk = GradientCheck.numericalGradient(at: k) { loss(q, $0, v) }
    let nv = GradientCheck.numericalGradient(at: v) { loss(q, k, $0) }
    #expect(GradientCheck.relativeError(g.dq, nq) < 1e-7, "\(name) dq")
    #expect(GradientCheck.relativeError(g.dk, nk) < 1e-7, "\(name) dk")
    #expect(GradientCheck.relativeError(g.dv, nv) < 1e-7, "\(name) dv")
  }

  static func attention(
    heads: Int = 4, kvHeads: Int = 2, window: Int? = nil, bias: Bool = false, seed: UInt64 = 11
  ) -> MultiHeadAttention<Double> {
    var g = Xoshiro256StarStar(seed: seed)
    return MultiHeadAttention<Double>(
      dimensions: 8, heads: heads, kvHeads: kvHeads, headDimensions: 4, window: window, ropeBase: 100,
      bias: bias,
      using: &g)
  }

  /// The layer equals RoPE'd projections through the explicit-loop reference, sequence by
  /// sequence, then `o_proj`.
  @Test func layerMatchesReferenceOverSeveralSequences() {
    let layer = Self.attention(bias: true)
    let layout = SequenceLayout(lengths: [5, 7])
    let x = Reference.randomMatrix(Double.self, rows: 12, columns: 8, seed: 12)
    let y = layer(x, layout: layout)
    let rope = layer.rotary!
    let q = rope.applied(to: layer.query(x), positions: layout.positions)
    let k = rope.applied(to: layer.key(x), positions: layout.positions)
    let v = layer.value(x)
    var context = Matrix<Double>(rows: 12, columns: 16)
    for rows in layout.ranges {
      context[rows: rows] = AttentionReference.attention(
        q: q[rows: rows], k: k[rows: rows], v: v[rows: rows], heads: 4, kvHeads: 2, keyDimensions: 4,
        valueDimensions: 4)
    }
    #expect(
      y.isApproximatelyEqual(to: layer.output(context), absoluteTolerance: 1e-13, relativeTolerance: 1e-12))
  }

  /// Llama 4's NoPE layers: no rotation, each query scaled by `1 + s·log(1 + ⌊(p + 1)/f⌋)` at
  /// its position `p` — over the cache as in a full pass.
  @Test func temperatureTuningScalesQueriesByPosition() {
    var layer = Self.attention()
    layer.rotary = nil
    layer.temperatureTuning = (scale: 0.5, floor: 2)
    let x = Reference.randomMatrix(Double.self, rows: 9, columns: 8, seed: 19)
    let positions = Array(0..<9)
    var q = layer.query(x)
    q.scaleRows(by: positions.map { 1 + 0.5 * Foundation.log(1 + Double(($0 + 1) / 2)) })
    let context = AttentionReference.attention(
      q: q, k: layer.key(x), v: layer.value(x), heads: 4, kvHeads: 2, keyDimensions: 4, valueDimensions: 4)
    let y = layer(x, layout: .single(9))
    #expect(
      y.isApproximatelyEqual(to: layer.output(context), absoluteTolerance: 1e-13, relativeTolerance: 1e-12))
    var cache = layer.makeCache()
    var rows = layer.forward(x[rows: 0..<4], cache: &cache).elements
    for t in 4..<9 { rows += layer.forward(x[rows: t..<t + 1], cache: &cache).elements }
    #expect(
      Matrix(rows: 9, columns: 8, elements: rows).isApproximatelyEqual(
        to: y, absoluteTolerance: 1e-13, relativeTolerance: 1e-12))
  }

  @Test func aFutureTokenNeverChangesAnEarlierOutput() {
    let layer = Self.attention(window: 3)
    var x = Reference.randomMatrix(Double.self, rows: 6, columns: 8, seed: 13)
    let before = layer(x, layout: .single(6))
    x[5, 2] += 10
    let after = layer(x, layout: .single(6))
    #expect(after[rows: 0..<5] == before[rows: 0..<5])
    #expect(after[row: 5] != before[row: 5])
  }

  /// Decoding one token at a time over the cache gives the prefill's rows; the cache holds
  /// `2·Hkv·D` scalars per token.
  @Test(arguments: [nil, 3] as [Int?])
  func cacheEqualsRecomputingThePrefix(window: Int?) {
    let layer = Self.attention(window: window)
    let x = Reference.randomMatrix(Double.self, rows: 9, columns: 8, seed: 14)
    let full = layer(x, layout: .single(9))
    var cache = layer.makeCache(capacity: 2)
    var rows: [Matrix<Double>] = [layer.forward(x[rows: 0..<3], cache: &cache)]
    for t in 3..<9 { rows.append(layer.forward(x[rows: t..<t + 1], cache: &cache)) }
    var decoded = Matrix<Double>(rows: 0, columns: 8)
    for r in rows {
      decoded = Matrix(rows: decoded.rows + r.rows, columns: 8, elements: decoded.elements + r.elements)
    }
    #expect(decoded.isApproximatelyEqual(to: full, absoluteTolerance: 1e-13, relativeTolerance: 1e-12))
    #expect(cache.count == 9)
    #expect(cache.byteCount == 9 * 2 * 2 * 4 * MemoryLayout<Double>.size)
    #expect(cache.allocatedByteCount <= 2 * cache.byteCount)
  }

  /// Only the chosen heads run: the result equals the full layer with the other heads'
  /// context set to zero, and the other heads' weights get no gradient.
  @Test func headSparseAttentionSkipsTheOtherHeads() {
    var layer = Self.attention()
    let x = Reference.randomMatrix(Double.self, rows: 6, columns: 8, seed: 15)
    let layout = SequenceLayout.single(6)
    let sparse = layer(x, layout: layout, activeHeads: [0, 3])
    var (_, cache) = layer.forwardForTraining(x, layout: layout)
    for h in [1, 2] { cache.context.setColumns(h * 4..<(h + 1) * 4, to: Matrix(rows: 6, columns: 4)) }
    #expect(sparse.isApproximatelyEqual(to: layer.output(cache.context), absoluteTolerance: 1e-13))
    let (_, sparseCache) = layer.forwardForTraining(x, layout: layout, activeHeads: [0, 3])
    _ = layer.backward(Reference.randomMatrix(Double.self, rows: 6, columns: 8, seed: 16), cache: sparseCache)
    let dq = layer.query.weight.gradient!
    #expect(dq[rows: 4..<12] == Matrix(rows: 8, columns: 8))  // heads 1 and 2
    #expect(dq[rows: 0..<4].norm > 0 && dq[rows: 12..<16].norm > 0)
  }

  @Test(
    arguments: [("MHA", 4, nil, nil), ("GQA window", 2, 3, nil), ("heads 1, 2", 2, nil, [1, 2])]
      as [(String, Int, Int?, [Int]?)])
  func layerBackwardMatchesCentralDifferences(name: String, kvHeads: Int, window: Int?, active: [Int]?) {
    let layer = Self.attention(kvHeads: kvHeads, window: window, bias: true)
    let layout = SequenceLayout(lengths: [3, 4])
    let x = Reference.randomMatrix(Double.self, rows: 7, columns: 8, seed: 17)
    let r = Reference.randomMatrix(Double.self, rows: 7, columns: 8, seed: 18)
    let errors = GradientCheck.parameterErrors(
      layer, projection: r, forward: { $0(x, layout: layout, activeHeads: active) },
      backward: { model, dy in
        _ = model.backward(dy, cache: model.forwardForTraining(x, layout: layout, activeHeads: active).cache)
      })
    for (parameter, error) in errors { #expect(error < 1e-6, "\(name) \(parameter)") }
    var model = layer
    let dx = model.backward(r, cache: layer.forwardForTraining(x, layout: layout, activeHeads: active).cache)
    let numeric = GradientCheck.numericalGradient(at: x) {
      GradientCheck.projection(layer($0, layout: layout, activeHeads: active), r)
    }
    #expect(GradientCheck.relativeError(dx, numeric) < 1e-7, "\(name) dx")
  }
}

@Suite struct HeadGateTests {
  /// Scores `mean(x)·W_gᵀ` for x = [[1, 0], [3, 2]] (mean [2, 1]) and four heads:
  /// [2, −1, 0.5, 2] → fraction 0.5 keeps heads 0 and 3 (tie to the lower index first),
  /// 0.6 rounds up to three heads; threshold σ ≥ 0.8 keeps the two of score 2
  /// (σ(2) = 0.88); an unreachable threshold keeps the best head alone.
  @Test func selectsTheBestScoringHeads() {
    let gate = HeadGate<Double>(scorer: Linear(weight: Matrix([[1, 0], [0, -1], [0.25, 0], [0, 2]])))
    let x = Matrix<Double>([[1, 0], [3, 2]])
    #expect(gate.select(x, budget: .fraction(0.5)) == [0, 3])
    #expect(gate.select(x, budget: .fraction(0.6)) == [0, 2, 3])
    #expect(gate.select(x, budget: .fraction(1)) == [0, 1, 2, 3])
    #expect(gate.select(x, budget: .threshold(0.8)) == [0, 3])
    #expect(gate.select(x, budget: .threshold(0.99)) == [0])
  }
}

@Suite struct LearnedHeadGateTests {
  /// `y = attention(x, heads, headWeights: gate.weights(x, heads))`: the gate's scorer and
  /// the input get the gradients central differences give, through the head weights.
  @Test func theGateLearnsThroughTheHeadWeights() {
    var g = Xoshiro256StarStar(seed: 41)
    let attention = MultiHeadAttention<Double>(
      dimensions: 8, heads: 4, kvHeads: 2, headDimensions: 4, ropeBase: 100, using: &g)
    let gate = HeadGate<Double>(dimensions: 8, heads: 4, using: &g)
    let x = Reference.randomMatrix(Double.self, rows: 5, columns: 8, seed: 42)
    let r = Reference.randomMatrix(Double.self, rows: 5, columns: 8, seed: 43)
    let layout = SequenceLayout.single(5)
    let heads = gate.select(x, budget: .fraction(0.5))
    func loss(_ gate: HeadGate<Double>, _ x: Matrix<Double>) -> Double {
      GradientCheck.projection(
        attention(x, layout: layout, activeHeads: heads, headWeights: gate.weights(x, heads: heads)), r)
    }
    var model = attention
    var trained = gate
    let (_, cache) = attention.forwardForTraining(
      x, layout: layout, activeHeads: heads, headWeights: gate.weights(x, heads: heads))
    let (dxAttention, dWeights) = model.backwardWithHeadWeights(r, cache: cache)
    let dxGate = trained.backward(dWeights!, input: x, heads: heads)
    let numericScorer = GradientCheck.numericalGradient(at: gate.scorer.weight.value) { w in
      loss(HeadGate(scorer: Linear(weight: w)), x)
    }
    #expect(GradientCheck.relativeError(trained.scorer.weight.gradient!, numericScorer) < 1e-7)
    let numericX = GradientCheck.numericalGradient(at: x) { loss(gate, $0) }
    #expect(GradientCheck.relativeError(dxAttention + dxGate, numericX) < 1e-7)
  }
}
