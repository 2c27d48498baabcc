import Foundation
import Linalg
import MoE
import Testing
import _TestSupport

/// Gated DeltaNet against the delta rule written out in `Double` over plain arrays, and
/// decoding token by token against the whole sequence.
@Suite struct GatedDeltaNetTests {
  /// Two key heads of 3, four value heads of 2, a convolution of width 3, over `d = 5`.
  static func mixer(seed: UInt64 = 41) -> GatedDeltaNet<Double> {
    var g = Xoshiro256StarStar(seed: seed)
    func linear(_ outputs: Int) -> Linear<Double> {
      Linear(inputDimensions: 5, outputDimensions: outputs, bias: false, using: &g)
    }
    var norm = RMSNorm<Double>(dimensions: 2, epsilon: 1e-6)
    norm.weight.value = Matrix([[0.8, 1.3]])
    return GatedDeltaNet(
      query: linear(6), key: linear(6), value: linear(8), outputGate: linear(8), writeStrength: linear(4),
      decayInput: linear(4), convolution: Matrix<Double>.normal(rows: 20, columns: 3, using: &g),
      decayBias: Matrix([[0.3, -0.2, 0.1, 0.5]]), decayLogRate: Matrix([[0.1, -0.4, 0.7, 0.0]]), norm: norm,
      output: Linear(inputDimensions: 8, outputDimensions: 5, bias: false, using: &g), keyHeads: 2,
      valueHeads: 4)
  }

  /// The rule, token by token, from the projections' outputs.
  static func reference(_ m: GatedDeltaNet<Double>, _ x: Matrix<Double>) -> Matrix<Double> {
    let (q0, k0, v0, z, b, a) = (
      m.query(x), m.key(x), m.value(x), m.outputGate(x), m.writeStrength(x), m.decayInput(x)
    )
    let raw = (0..<x.rows).map { t in q0[row: t] + k0[row: t] + v0[row: t] }  // channels [q|k|v]
    let w = m.convolution.value
    func silu(_ u: Double) -> Double { u / (1 + exp(-u)) }
    // Causal depthwise convolution with zeros before the start.
    let mixed = (0..<x.rows).map { t in
      (0..<20).map { c in
        silu((0..<3).reduce(0.0) { s, i in t - 2 + i < 0 ? s : s + w[c, i] * raw[t - 2 + i][c] })
      }
    }
    // state[head][i (Dk)][e (Dv)]
    var state = [[[Double]]](repeating: [[Double]](repeating: [0, 0], count: 3), count: 4)
    var out = Matrix<Double>(rows: x.rows, columns: 8)
    for t in 0..<x.rows {
      for h in 0..<4 {
        let kh = h / 2
        func unit(_ v: [Double]) -> [Double] {
          v.map { $0 / (v.reduce(0) { $0 + $1 * $1 } + 1e-6).squareRoot() }
        }
        let q = unit(Array(mixed[t][kh * 3..<kh * 3 + 3])).map { $0 / 3.0.squareRoot() }
        let k = unit(Array(mixed[t][6 + kh * 3..<6 + kh * 3 + 3]))
        let v = Array(mixed[t][12 + h * 2..<12 + h * 2 + 2])
        let beta = 1 / (1 + exp(-b[t, h]))
        let decay = exp(-exp(m.decayLogRate.value[0, h]) * log(1 + exp(a[t, h] + m.decayBias.value[0, h])))
        for i in 0..<3 { for e in 0..<2 { state[h][i][e] *= decay } }
        for e in 0..<2 {
          let recalled = (0..<3).reduce(0.0) { $0 + state[h][$1][e] * k[$1] }
          for i in 0..<3 { state[h][i][e] += k[i] * beta * (v[e] - recalled) }
        }
        let o = (0..<2).map { e in (0..<3).reduce(0.0) { $0 + state[h][$1][e] * q[$1] } }
        let rms = ((o[0] * o[0] + o[1] * o[1]) / 2 + 1e-6).squareRoot()
        for e in 0..<2 { out[t, h * 2 + e] = o[e] / rms * m.norm.weight.value[0, e] * silu(z[t, h * 2 + e]) }
      }
    }
    return m.output(out)
  }

  @Test func matchesTheRuleWrittenOut() {
    let mixer = Self.mixer()
    let x = Reference.randomMatrix(Double.self, rows: 7, columns: 5, seed: 42) * 2
    #expect(
      mixer(x, layout: .single(7)).isApproximatelyEqual(
        to: Self.reference(mixer, x), absoluteTolerance: 1e-12, relativeTolerance: 1e-11))
  }

  /// Decoding carries the convolution window and the heads' states: one token at a time, or
  /// in uneven chunks, gives the whole sequence's output; the state does not grow.
  @Test func decodingEqualsTheWholeSequence() {
    let mixer = Self.mixer()
    let x = Reference.randomMatrix(Double.self, rows: 9, columns: 5, seed: 43)
    let whole = mixer(x, layout: .single(9))
    var cache = mixer.makeCache()
    let size = cache.byteCount
    var rows: [Double] = []
    for chunk in [0..<1, 1..<4, 4..<5, 5..<9] {
      rows += mixer.forward(x[rows: chunk], cache: &cache).elements
    }
    #expect(
      Matrix(rows: 9, columns: 5, elements: rows).isApproximatelyEqual(
        to: whole, absoluteTolerance: 1e-12, relativeTolerance: 1e-11))
    #expect(cache.count == 9 && cache.byteCount == size)
    cache.removeAll()
    #expect(
      mixer.forward(x[rows: 0..<3], cache: &cache).isApproximatelyEqual(
        to: whole[rows: 0..<3], absoluteTolerance: 1e-12, relativeTolerance: 1e-11))
  }
}
