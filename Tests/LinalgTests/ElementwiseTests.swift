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

  /// `Float`'s vectorised `silu`, `sigmoid` and SwiGLU (`applyGated`) over a dense sweep
  /// of arguments (every binade from subnormal to overflow, both signs, a length that
  /// leaves a scalar tail) within 4 ulp of the `Double` formula, or within `4·(1 + |x|)`
  /// subnormal steps where `e^−|x|` underflows into the subnormals (as the scalar `exp`
  /// does).
  @Test(arguments: [ElementwiseFunction.silu, .sigmoid])
  func vectorisedFloatKernelsAreWithinFourULP(_ f: ElementwiseFunction) {
    var arguments: [Float] = [
      0, -0, Float.leastNormalMagnitude / 3, -Float.leastNormalMagnitude / 3, 88, -88, 103, -103, 104.5,
      -104.5, 200, -200,
    ]
    var t: Float = 1e-30
    while t < 120 {
      arguments += [t, -t]
      t *= 1.0137
    }
    let x = Matrix<Float>(row: arguments)
    let up = Matrix<Float>(row: arguments.indices.map { Float($0 % 7) - 2.75 })
    var gated = x
    gated.applyGated(f, multiplying: up)
    let y = x.applying(f)
    for (i, argument) in arguments.enumerated() {
      let expected = Self.reference(f, Double(argument))
      for (actual, target) in [(y[0, i], expected), (gated[0, i], expected * Double(up[0, i]))] {
        let tolerance = max(
          4 * Double(Float(target).ulp), 4 * (1 + abs(Double(argument))) * Double(Float.leastNonzeroMagnitude)
        )
        #expect(
          abs(Double(actual) - target) <= tolerance, "\(f)(\(argument)) = \(actual), expected \(target)")
      }
    }
    #expect(
      Matrix<Float>(row: [Float](repeating: .nan, count: 9)).applying(f).elements.allSatisfy { $0.isNaN })
  }

  @Test func applyGatedMatchesTheFunctionTimesTheOtherMatrix() {
    let g = Reference.randomMatrix(Double.self, rows: 3, columns: 5, seed: 3)
    let u = Reference.randomMatrix(Double.self, rows: 3, columns: 5, seed: 4)
    for f in ElementwiseFunction.allCases {
      var gated = g
      gated.applyGated(f, multiplying: u)
      #expect(gated == g.applying(f).elementwiseProduct(u), "\(f)")
    }
  }

  @Test(arguments: ElementwiseFunction.allCases)
  func nanPropagates(_ f: ElementwiseFunction) {
    #expect(Matrix<Float>([[.nan]]).applying(f)[0, 0].isNaN)
  }
}
