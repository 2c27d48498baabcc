import Foundation
import Linalg
import MoE
import Testing
import _TestSupport

/// The Mamba mixer against the selective scan written out in `Double`, and decoding token by
/// token against the whole sequence.
@Suite struct MambaMixerTests {
  /// `d = 5`, 6 channels, a state of 3, `R = 2`, a convolution of width 3, Jamba's norms.
  static func mixer() -> MambaMixer<Double> {
    var g = Xoshiro256StarStar(seed: 51)
    func linear(_ inputs: Int, _ outputs: Int, bias: Bool = false) -> Linear<Double> {
      Linear(inputDimensions: inputs, outputDimensions: outputs, bias: bias, using: &g)
    }
    var norm = RMSNorm<Double>(dimensions: 3, epsilon: 1e-6)
    norm.weight.value = Matrix([[0.9, 1.2, 0.7]])
    var stepNorm = RMSNorm<Double>(dimensions: 2, epsilon: 1e-6)
    stepNorm.weight.value = Matrix([[1.1, 0.8]])
    return MambaMixer(
      input: linear(5, 12), convolution: Matrix<Double>.normal(rows: 6, columns: 3, using: &g),
      convolutionBias: Matrix<Double>.normal(rows: 1, columns: 6, using: &g), stateProjection: linear(6, 8),
      norms: (stepNorm, norm, norm), timeStep: linear(2, 6, bias: true),
      decayLog: Matrix<Double>.normal(rows: 6, columns: 3, using: &g) * 0.5,
      skip: Matrix<Double>.normal(rows: 1, columns: 6, using: &g), output: linear(6, 5))
  }

  /// The scan, token by token, from the projections' outputs.
  static func reference(_ m: MambaMixer<Double>, _ x: Matrix<Double>) -> Matrix<Double> {
    func silu(_ v: Double) -> Double { v / (1 + exp(-v)) }
    func rms(_ v: [Double], _ gain: Matrix<Double>) -> [Double] {
      let scale = 1 / (v.reduce(0) { $0 + $1 * $1 } / Double(v.count) + 1e-6).squareRoot()
      return v.indices.map { v[$0] * scale * gain[0, $0] }
    }
    let p = m.input(x)
    let w = m.convolution.value
    let u = Matrix<Double>(rows: x.rows, columns: 6) { t, c in
      silu(
        (0..<3).reduce(m.convolutionBias!.value[0, c]) { s, i in
          t - 2 + i < 0 ? s : s + w[c, i] * p[t - 2 + i, c]
        })
    }
    var h = [[Double]](repeating: [0, 0, 0], count: 6)
    var y = Matrix<Double>(rows: x.rows, columns: 6)
    for t in 0..<x.rows {
      let parts = m.stateProjection(u[rows: t..<t + 1])[row: 0]
      let delta = rms(Array(parts[0..<2]), m.norms!.timeStep.weight.value)
      let b = rms(Array(parts[2..<5]), m.norms!.input.weight.value)
      let c = rms(Array(parts[5..<8]), m.norms!.output.weight.value)
      let steps = m.timeStep(Matrix(row: delta))[row: 0].map { log(1 + exp($0)) }
      for ch in 0..<6 {
        var sum = 0.0
        for k in 0..<3 {
          h[ch][k] = exp(steps[ch] * -exp(m.decayLog.value[ch, k])) * h[ch][k] + steps[ch] * b[k] * u[t, ch]
          sum += h[ch][k] * c[k]
        }
        y[t, ch] = (sum + m.skip.value[0, ch] * u[t, ch]) * silu(p[t, 6 + ch])
      }
    }
    return m.output(y)
  }

  @Test func matchesTheScanWrittenOut() {
    let mixer = Self.mixer()
    let x = Reference.randomMatrix(Double.self, rows: 7, columns: 5, seed: 52)
    #expect(
      mixer(x, layout: .single(7)).isApproximatelyEqual(
        to: Self.reference(mixer, x), absoluteTolerance: 1e-12, relativeTolerance: 1e-11))
  }

  @Test func decodingEqualsTheWholeSequence() {
    let mixer = Self.mixer()
    let x = Reference.randomMatrix(Double.self, rows: 8, columns: 5, seed: 53)
    let whole = mixer(x, layout: .single(8))
    var cache = mixer.makeCache()
    var rows: [Double] = []
    for chunk in [0..<2, 2..<3, 3..<8] { rows += mixer.forward(x[rows: chunk], cache: &cache).elements }
    #expect(
      Matrix(rows: 8, columns: 5, elements: rows).isApproximatelyEqual(
        to: whole, absoluteTolerance: 1e-12, relativeTolerance: 1e-11))
    #expect(cache.count == 8 && cache.recurrentState.count == mixer.stateCount)
  }
}
