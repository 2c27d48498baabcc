import Foundation
import Linalg
import Testing
import _TestSupport

@Suite struct SoftmaxTests {
  /// Softmax of a row in `Double` straight from the definition, after shifting by the
  /// maximum (the shift cancels mathematically).
  static func referenceSoftmax(_ row: [Double]) -> [Double] {
    let m = row.max()!
    let e = row.map { exp($0 - m) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
  }

  @Test(arguments: [(1, 1), (3, 8), (7, 13)])
  func matchesReference(rows: Int, columns: Int) {
    let x = Reference.randomMatrix(Float.self, rows: rows, columns: columns, seed: 5) * 6
    let p = x.softmaxRows()
    let logP = x.logSoftmaxRows()
    let lse = x.logSumExpRows()
    for i in 0..<rows {
      let row = x[row: i].map(Double.init)
      let expected = Self.referenceSoftmax(row)
      let expectedLSE = row.max()! + log(row.map { exp($0 - row.max()!) }.reduce(0, +))
      #expect(abs(Double(lse[i]) - expectedLSE) < 1e-5)
      for j in 0..<columns {
        #expect(abs(Double(p[i, j]) - expected[j]) < 1e-6)
        #expect(abs(Double(logP[i, j]) - log(expected[j])) < 1e-5)
      }
      #expect(abs(p[row: i].reduce(0, +) - 1) < 1e-6)
    }
  }

  @Test func hugeLogitsDoNotOverflow() {
    let x = Matrix<Float>([[1e4, -1e4, 1e4 - 1], [-1e4, -1e4, -1e4]])
    let p = x.softmaxRows()
    let e = Float(exp(-1.0))
    #expect(abs(p[0, 0] - 1 / (1 + e)) < 1e-6)
    #expect(p[0, 1] == 0)
    #expect(abs(p[0, 2] - e / (1 + e)) < 1e-6)
    #expect(p[row: 1].allSatisfy { abs($0 - 1.0 / 3) < 1e-6 })
    #expect(abs(x.logSumExpRows()[0] - (1e4 + Float(log1p(exp(-1.0))))) < 1e-2)
    #expect(x.logSoftmaxRows()[0, 1] == -2e4 - Float(log1p(exp(-1.0))))
  }

  @Test func maskedEntriesGetNothing() {
    let x = Matrix<Double>([[0, -.infinity, 0]])
    #expect(x.softmaxRows().elements == [0.5, 0, 0.5])
    #expect(x.logSoftmaxRows().elements == [log(0.5), -.infinity, log(0.5)])
  }

  @Test func fullyMaskedRowIsZeroNotNaN() {
    let x = Matrix<Float>([[-.infinity, -.infinity], [1, 1]])
    #expect(x.softmaxRows().elements == [0, 0, 0.5, 0.5])
    #expect(x.logSoftmaxRows()[row: 0] == [-.infinity, -.infinity])
    #expect(x.logSumExpRows()[0] == -.infinity)
  }

  @Test func positiveInfinitySharesTheMass() {
    let x = Matrix<Double>([[.infinity, 3, .infinity]])
    #expect(x.softmaxRows().elements == [0.5, 0, 0.5])
    #expect(x.logSoftmaxRows().elements == [log(0.5), -.infinity, log(0.5)])
    #expect(x.logSumExpRows() == [.infinity])
  }

  @Test func nanPoisonsOnlyItsRow() {
    let x = Matrix<Float>([[1, .nan, 2], [1, 2, 3]])
    let p = x.softmaxRows()
    #expect(p[row: 0].allSatisfy { $0.isNaN })
    #expect(p[row: 1].allSatisfy { !$0.isNaN })
    #expect(x.logSoftmaxRows()[row: 0].allSatisfy { $0.isNaN })
    #expect(x.logSumExpRows()[0].isNaN)
  }

  @Test func emptyRows() {
    let x = Matrix<Float>(rows: 2, columns: 0)
    #expect(x.softmaxRows().shape == (2, 0))
    #expect(x.logSumExpRows() == [-.infinity, -.infinity])
  }
}

@Suite struct VectorisedSoftmaxTests {
  /// Float rows long enough for the 8-lane exponentials (37 columns: four vectors and a
  /// tail), with large, tiny and `-inf` logits, against the `Double` softmax of the same
  /// (Float) logits: relative error within 8 ulp plus the rounding of `x − max` in Float
  /// (`|x − max|·2⁻²⁴`, which any Float softmax has), for every probability above 1e-30.
  @Test func floatRowsMatchTheDoubleSoftmax() {
    var logits = Reference.randomMatrix(Double.self, rows: 4, columns: 37, seed: 5) * 40
    logits[1, 3] = -.infinity
    logits[2, 36] = 80
    logits[3, 0] = -200
    let rounded = Matrix<Double>(rows: 4, columns: 37, elements: logits.elements.map { Double(Float($0)) })
    let expected = rounded.softmaxRows()
    let maxima = rounded.rowMax()
    let actual = Matrix<Float>(rows: 4, columns: 37, elements: logits.elements.map { Float($0) })
      .softmaxRows()
    let ulp = Double(Float.ulpOfOne) / 2
    for i in 0..<4 {
      for j in 0..<37 where expected[i, j] > 1e-30 {
        let error = abs(Double(actual[i, j]) - expected[i, j]) / expected[i, j]
        let tolerance = 8 * ulp + abs(rounded[i, j] - maxima[i]) * ulp
        #expect(error <= tolerance, "(\(i), \(j)): \(actual[i, j]) vs \(expected[i, j])")
      }
    }
    #expect(actual[1, 3] == 0)
    #expect(abs(actual.rowSums().reduce(0, +) - 4) < 1e-5)
  }
}
