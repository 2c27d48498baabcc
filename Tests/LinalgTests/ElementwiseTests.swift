import Foundation
import Linalg
import Testing
import _TestSupport

@Suite struct ElementwiseTests {
  @Test func arithmeticWithBroadcasting() {
    let a = Matrix<Float>([[1, 2, 3], [4, 5, 6]])
    let bias = Matrix<Float>(row: [10, 20, 30])
    #expect((a + bias).nestedRows == [[11, 22, 33], [14, 25, 36]])
    #expect((a - a).elements == [0, 0, 0, 0, 0, 0])
    #expect((a - bias).nestedRows == [[-9, -18, -27], [-6, -15, -24]])
    #expect(a.elementwiseProduct(bias).nestedRows == [[10, 40, 90], [40, 100, 180]])
    #expect(a.elementwiseProduct(a).elements == [1, 4, 9, 16, 25, 36])
    #expect((2 * a).elements == (a * 2).elements)
    #expect((-a).elements == [-1, -2, -3, -4, -5, -6])
    var b = a
    b += a
    b -= bias
    b *= 0.5
    #expect(b.nestedRows == [[-4, -8, -12], [-1, -5, -9]])
  }

  @Test func broadcastingMismatchTraps() async {
    await #expect(processExitsWith: .failure) {
      _ = Matrix<Float>(rows: 2, columns: 3) + Matrix<Float>(rows: 1, columns: 2)
    }
    await #expect(processExitsWith: .failure) {
      _ = Matrix<Float>(rows: 3, columns: 3) + Matrix<Float>(rows: 2, columns: 3)
    }
  }

  /// Each function against its formula in `Double` through Foundation's `erfc`, `exp` and
  /// `log1p`, written in the forms that do not cancel for negative arguments
  /// (`1 + erf(t) = erfc(−t)`, `1 + tanh(z) = 2/(1 + e^(−2z))`), over ordinary and
  /// extreme arguments.
  static let arguments: [Double] = [-1000, -30, -5, -1, -0.5, -1e-8, 0, 1e-8, 0.25, 1, 3, 20, 1000]

  static func reference(_ f: ElementwiseFunction, _ x: Double) -> Double {
    switch f {
    case .relu: max(0, x)
    case .gelu: 0.5 * x * erfc(-x / 2.0.squareRoot())
    case .geluTanh: x / (1 + exp(-2 * (2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    case .silu: x / (1 + exp(-x))
    case .sigmoid: 1 / (1 + exp(-x))
    case .softplus: x > 30 ? x + log1p(exp(-x)) : log1p(exp(x))
    }
  }

  @Test(arguments: ElementwiseFunction.allCases)
  func functionMatchesFormula(_ f: ElementwiseFunction) {
    let x = Matrix<Double>(row: Self.arguments)
    let y = x.applying(f)
    for (i, argument) in Self.arguments.enumerated() {
      let expected = Self.reference(f, argument)
      let error = abs(y[0, i] - expected) / max(abs(expected), 1e-300)
      #expect(error < 1e-13 || y[0, i] == expected, "\(f)(\(argument)) = \(y[0, i]), expected \(expected)")
    }
    let xf = Matrix<Float>(row: Self.arguments.map { Float($0) })
    let yf = xf.applying(f)
    for (i, argument) in Self.arguments.enumerated() {
      let expected = Self.reference(f, Double(Float(argument)))
      #expect(
        abs(Double(yf[0, i]) - expected) <= 1e-6 * max(abs(expected), 1e-30),
        "Float \(f)(\(argument)) = \(yf[0, i]), expected \(expected)")
    }
  }

  @Test(arguments: ElementwiseFunction.allCases)
  func nanPropagates(_ f: ElementwiseFunction) {
    #expect(Matrix<Float>([[.nan]]).applying(f)[0, 0].isNaN)
  }
}
