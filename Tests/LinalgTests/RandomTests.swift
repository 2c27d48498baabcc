import Linalg
import Testing
import _TestSupport

@Suite struct RandomTests {
  @Test func xoshiroMatchesAnIndependentImplementation() {
    // Seed 42 through SplitMix64, then xoshiro256**, computed separately in Python.
    var g = Xoshiro256StarStar(seed: 42)
    #expect(
      [g.next(), g.next(), g.next()] == [
        1_546_998_764_402_558_742, 6_990_951_692_964_543_102, 12_544_586_762_248_559_009,
      ])
  }

  @Test func sameSeedSameNumbersDifferentSeedDifferentNumbers() {
    var a = Xoshiro256StarStar(seed: 7)
    var b = Xoshiro256StarStar(seed: 7)
    var c = Xoshiro256StarStar(seed: 8)
    let ma = Matrix<Float>.normal(rows: 4, columns: 4, using: &a)
    #expect(ma == Matrix<Float>.normal(rows: 4, columns: 4, using: &b))
    #expect(ma != Matrix<Float>.normal(rows: 4, columns: 4, using: &c))
  }

  @Test func uniformAndNormalMoments() {
    var g = Xoshiro256StarStar(seed: 1)
    let n = 200_000
    let u = (0..<n).map { _ in g.nextUniform(Double.self) }
    #expect(u.allSatisfy { $0 >= 0 && $0 < 1 })
    let uMean = u.reduce(0, +) / Double(n)
    #expect(abs(uMean - 0.5) < 0.005)  // σ of the mean ≈ 0.00065
    let z = (0..<n).map { _ in g.nextNormal(Double.self) }
    let zMean = z.reduce(0, +) / Double(n)
    let zVariance = z.map { ($0 - zMean) * ($0 - zMean) }.reduce(0, +) / Double(n)
    #expect(abs(zMean) < 0.01 && abs(zVariance - 1) < 0.02)
    let floats = (0..<10_000).map { _ in g.nextUniform(Float.self) }
    #expect(floats.allSatisfy { $0 >= 0 && $0 < 1 })
  }

  @Test func initialisersHaveTheirVariance() {
    var g = Xoshiro256StarStar(seed: 2)
    let (out, inputs) = (256, 512)
    func variance(_ m: Matrix<Double>) -> Double { m.elements.map { $0 * $0 }.reduce(0, +) / Double(m.count) }
    let glorot = Matrix<Double>.glorotUniform(rows: out, columns: inputs, using: &g)
    #expect(abs(variance(glorot) / (2.0 / Double(out + inputs)) - 1) < 0.05)
    let limit = (6.0 / Double(out + inputs)).squareRoot()
    #expect(glorot.elements.allSatisfy { abs($0) <= limit })
    let he = Matrix<Double>.heNormal(rows: out, columns: inputs, using: &g)
    #expect(abs(variance(he) / (2.0 / Double(inputs)) - 1) < 0.05)
    let normal = Matrix<Double>.normal(
      rows: out, columns: inputs, mean: 3, standardDeviation: 0.02, using: &g)
    #expect(abs(normal.elements.reduce(0, +) / Double(normal.count) - 3) < 0.001)
  }

  @Test(arguments: [(6, 4), (4, 6), (5, 5)])
  func orthogonalHasOrthonormalRowsOrColumns(rows: Int, columns: Int) {
    var g = Xoshiro256StarStar(seed: 3)
    let q = Matrix<Double>.orthogonal(rows: rows, columns: columns, gain: 2, using: &g)
    #expect(q.shape == (rows, columns))
    let gram = rows >= columns ? matmul(q, transposeA: true, q) : matmul(q, q, transposeB: true)
    #expect(gram.isApproximatelyEqual(to: Matrix.identity(min(rows, columns)) * 4, absoluteTolerance: 1e-12))
  }
}
