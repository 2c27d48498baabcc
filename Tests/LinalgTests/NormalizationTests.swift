import Linalg
import Testing
import _TestSupport

@Suite struct NormalizationTests {
  @Test(arguments: [false, true])
  func rowNormsMatchTheirFormulas(centered: Bool) {
    let x = Reference.randomMatrix(Double.self, rows: 5, columns: 7, seed: 31) * 3
    let gain = Reference.randomMatrix(Double.self, rows: 1, columns: 7, seed: 32)
    let bias = Reference.randomMatrix(Double.self, rows: 1, columns: 7, seed: 33)
    var y = x
    if centered {
      y.layerNormalizeRows(gain: gain, bias: bias, epsilon: 1e-5)
    } else {
      y.rmsNormalizeRows(gain: gain, epsilon: 1e-6)
    }
    for i in 0..<5 {
      let row = x[row: i]
      let mean = centered ? row.reduce(0, +) / 7 : 0
      let meanSquare = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 7
      let scale = 1 / (meanSquare + (centered ? 1e-5 : 1e-6)).squareRoot()
      for j in 0..<7 {
        let expected = (row[j] - mean) * scale * gain[0, j] + (centered ? bias[0, j] : 0)
        #expect(abs(y[i, j] - expected) < 1e-13, "row \(i) column \(j)")
      }
    }
  }

  @Test func floatRowsAgreeWithDouble() {
    let x = Reference.randomMatrix(Float.self, rows: 3, columns: 64, seed: 34)
    var y = x
    y.rmsNormalizeRows(gain: Matrix(rows: 1, columns: 64, repeating: 1), epsilon: 1e-6)
    var yd = Matrix<Double>(rows: 3, columns: 64) { Double(x[$0, $1]) }
    yd.rmsNormalizeRows(gain: Matrix(rows: 1, columns: 64, repeating: 1), epsilon: 1e-6)
    #expect(Reference.maxRelativeError(y, yd.nestedRows) < 1e-6)
  }

  @Test func wrongGainTraps() async {
    await #expect(processExitsWith: .failure) {
      var x = Matrix<Float>(rows: 2, columns: 3)
      x.rmsNormalizeRows(gain: Matrix(rows: 1, columns: 2), epsilon: 1e-6)
    }
  }
}
