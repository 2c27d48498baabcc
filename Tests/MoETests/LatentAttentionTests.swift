import Foundation
import Linalg
import MoE
import Testing
import _TestSupport

/// Multi-head latent attention: the naive form against explicit per-head loops, the
/// absorbed decode against the naive form, the cache's size, and the backward pass.
@Suite struct LatentAttentionTests {
  static func layer(queryRank: Int?, seed: UInt64 = 21) -> MultiHeadLatentAttention<Double> {
    var g = Xoshiro256StarStar(seed: seed)
    return MultiHeadLatentAttention<Double>(
      dimensions: 8, heads: 3, queryRank: queryRank, latentRank: 5, nopeDimensions: 4, ropeDimensions: 2,
      valueDimensions: 3, ropeBase: 50, using: &g)
  }

  /// Per token and head, from the layer's own projections: `q_h = [q_nope | RoPE(q_pe)]`,
  /// `k_h(j) = [kv_b(c_j)_nope,h | RoPE(k_pe,j)]`, `v_h(j) = kv_b(c_j)_v,h`, softmax over
  /// `j ≤ i` of `q_h·k_h(j)/√6`.
  static func reference(_ layer: MultiHeadLatentAttention<Double>, _ x: Matrix<Double>) -> Matrix<Double> {
    let t = x.rows
    var q = layer.query?(x) ?? layer.queryUp!(layer.queryNorm!(layer.queryDown!(x)))
    let down = layer.keyValueDown(x)
    let c = layer.keyValueNorm(down.columns(0..<5))
    let pe = layer.rotary.applied(to: down.columns(5..<7), positions: Array(0..<t))
    let up = layer.keyValueUp(c)
    for h in 0..<3 {
      q.setColumns(
        h * 6 + 4..<h * 6 + 6,
        to: layer.rotary.applied(to: q.columns(h * 6 + 4..<h * 6 + 6), positions: Array(0..<t)))
    }
    var context = Matrix<Double>(rows: t, columns: 9)
    for h in 0..<3 {
      for i in 0..<t {
        let scores = (0...i).map { j -> Double in
          var s = 0.0
          for a in 0..<4 { s += q[i, h * 6 + a] * up[j, h * 7 + a] }
          for a in 0..<2 { s += q[i, h * 6 + 4 + a] * pe[j, a] }
          return s / 6.0.squareRoot()
        }
        let top = scores.max()!
        let w = scores.map { exp($0 - top) }
        let total = w.reduce(0, +)
        for a in 0..<3 {
          context[i, h * 3 + a] = (0...i).reduce(0.0) { $0 + w[$1] * up[$1, h * 7 + 4 + a] } / total
        }
      }
    }
    return layer.output(context)
  }

  @Test(arguments: [nil, 4] as [Int?])
  func naiveFormMatchesExplicitLoops(queryRank: Int?) {
    let layer = Self.layer(queryRank: queryRank)
    let x = Reference.randomMatrix(Double.self, rows: 7, columns: 8, seed: 22)
    #expect(
      layer(x, layout: .single(7)).isApproximatelyEqual(
        to: Self.reference(layer, x), absoluteTolerance: 1e-13, relativeTolerance: 1e-12))
  }

  /// Decoding with the up-projections absorbed (prefill of 3, then one token at a time)
  /// gives the naive form's rows; the cache holds `r + Dr = 7` scalars per token.
  @Test(arguments: [nil, 4] as [Int?])
  func absorbedDecodeEqualsTheNaiveForm(queryRank: Int?) {
    let layer = Self.layer(queryRank: queryRank)
    let x = Reference.randomMatrix(Double.self, rows: 8, columns: 8, seed: 23)
    let naive = layer(x, layout: .single(8))
    var cache = layer.makeCache(capacity: 1)
    var decoded = layer.forward(x[rows: 0..<3], cache: &cache).elements
    for t in 3..<8 { decoded += layer.forward(x[rows: t..<t + 1], cache: &cache).elements }
    #expect(
      Matrix(rows: 8, columns: 8, elements: decoded).isApproximatelyEqual(
        to: naive, absoluteTolerance: 1e-13, relativeTolerance: 1e-11))
    #expect(cache.byteCount == 8 * (5 + 2) * MemoryLayout<Double>.size)
  }

  @Test(arguments: [nil, 4] as [Int?])
  func backwardMatchesCentralDifferences(queryRank: Int?) {
    let layer = Self.layer(queryRank: queryRank)
    let layout = SequenceLayout(lengths: [3, 4])
    let x = Reference.randomMatrix(Double.self, rows: 7, columns: 8, seed: 24)
    let r = Reference.randomMatrix(Double.self, rows: 7, columns: 8, seed: 25)
    let errors = GradientCheck.parameterErrors(
      layer, projection: r, forward: { $0(x, layout: layout) },
      backward: { model, dy in
        _ = model.backward(dy, cache: model.forwardForTraining(x, layout: layout).cache)
      })
    #expect(errors.count == (queryRank == nil ? 5 : 7))
    for (name, error) in errors { #expect(error < 1e-6, "\(name)") }
    var model = layer
    let dx = model.backward(r, cache: layer.forwardForTraining(x, layout: layout).cache)
    let numeric = GradientCheck.numericalGradient(at: x) {
      GradientCheck.projection(layer($0, layout: layout), r)
    }
    #expect(GradientCheck.relativeError(dx, numeric) < 1e-7)
  }
}
