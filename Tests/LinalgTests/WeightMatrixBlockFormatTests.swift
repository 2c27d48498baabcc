import Linalg
import Testing
import _TestSupport

/// ggml's block formats (Q4_K, Q5_K, Q6_K, MXFP4): rows that lie on a format's grid come back
/// exactly, Gaussian rows within each format's measured error, importance weights lower the
/// error where they say it matters, and ggml's layouts convert both ways without loss.
/// (Dequantization against the reference implementation's bytes: `GGUFFileTests`.)
@Suite struct WeightMatrixBlockFormatTests {
  /// Q4_K and Q5_K: sub-block `j` holds `s_j·q − m_j` with every level 0…nmax present and
  /// `s_j`, `m_j` on the 6-bit grids of `d = dmin = 2⁻⁷` (largest 63·2⁻⁷, so the halves are
  /// exact): the fit finds each scale and minimum, and the matrix is the input.
  @Test(arguments: [WeightMatrix.Format.q4K, .q5K]) func scaleAndMinimumGridsAreFoundExactly(
    format: WeightMatrix.Format
  ) {
    let levels = format == .q4K ? 16 : 32
    let row = (0..<512).map { e -> Float in
      let (j, q) = ((e / 32) % 8, e % levels)
      return Float(63 - 5 * j) * 0x1p-7 * Float(q) - Float(63 - 7 * j) * 0x1p-7
    }
    let x = Matrix(rows: 1, columns: 512, elements: row)
    #expect(WeightMatrix(x, format: format).dequantized() == x)
  }

  /// Q6_K: sub-block `j` holds `s_j·q` for levels −32, −28, …, 28 with `s_j = (128 − 9j)·2⁻¹²`
  /// (the largest puts `d = −2⁻¹²`, scale −128): every element comes back exactly.
  @Test func signedScaleGridIsFoundExactly() {
    let row = (0..<256).map { e -> Float in
      let (scale, level) = (Float(128 - 9 * (e / 16)) * 0x1p-12, Float(-32 + 4 * (e % 16)))
      return scale * level
    }
    let x = Matrix(rows: 1, columns: 256, elements: row)
    #expect(WeightMatrix(x, format: .q6K).dequantized() == x)
  }

  /// MXFP4: FP4 values times 2⁻³ with ±6·2⁻³ present come back exactly.
  @Test func fp4ValuesAreExact() {
    let values: [Float] = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.5, -1, -1.5, -2, -3, -4, -6, 0]
    let x = Matrix(rows: 1, columns: 64, elements: (0..<64).map { values[$0 % 16] * 0x1p-3 })
    #expect(WeightMatrix(x, format: .mxfp4).dequantized() == x)
  }

  /// The relative error ‖W − Ŵ‖/‖W‖ on N(0, 1) rows: each format's bound sits just above what
  /// it measures (0.0708, 0.0349, 0.0173, 0.1117; ggml's own quantizers measure 0.0714, 0.0361,
  /// 0.0177, 0.1151 on such rows, scripts/peer-ggml-quantizers.sh), and Q4_K beats q4 at the
  /// same 4.5 bits.
  @Test func gaussianRowsKeepTheMeasuredError() {
    var g = Xoshiro256StarStar(seed: 5)
    let x = Matrix<Float>.normal(rows: 64, columns: 4096, using: &g)
    func error(_ format: WeightMatrix.Format) -> Float {
      (WeightMatrix(x, format: format).dequantized() - x).norm / x.norm
    }
    let bounds: [(WeightMatrix.Format, Float, Double)] = [
      (.q4K, 0.0715, 4.5), (.q5K, 0.0355, 5.5), (.q6K, 0.0176, 6.5625), (.mxfp4, 0.113, 4.25),
    ]
    for (format, bound, bits) in bounds {
      let measured = error(format)
      #expect(measured < bound, "\(format.rawValue): \(measured)")
      #expect(format.bitsPerWeight(columns: 4096) == bits)
    }
    #expect(error(.q4K) < 0.85 * error(.q4))
  }

  /// Importance on a quarter of the columns (100× the rest) lowers the error weighted by it,
  /// in every block format and q4; importance that is zero everywhere changes nothing.
  @Test(arguments: [WeightMatrix.Format.q4, .q4K, .q5K, .q6K, .mxfp4]) func importanceLowersTheWeightedError(
    format: WeightMatrix.Format
  ) {
    var g = Xoshiro256StarStar(seed: 9)
    let x = Matrix<Float>.normal(rows: 16, columns: 1024, using: &g)
    let importance = (0..<1024).map { $0 % 4 == 0 ? Float(100) : 1 }
    func weightedError(_ w: WeightMatrix) -> Double {
      let back = w.dequantized()
      var sum = 0.0
      for r in 0..<16 {
        for c in 0..<1024 {
          let e = Double(back[r, c] - x[r, c])
          sum += Double(importance[c]) * e * e
        }
      }
      return sum
    }
    let plain = weightedError(WeightMatrix(x, format: format))
    let weighted = weightedError(WeightMatrix(x, format: format, importance: importance))
    // MXFP4 has one free choice a block (the exponent, of two candidates), q4 a scale, the
    // K-quants a scale and a minimum a sub-block: the weights can move MXFP4 less.
    #expect(
      weighted < (format == .mxfp4 ? 0.99 : 0.9) * plain,
      "\(format.rawValue): \(weighted) against \(plain)")
    // Importance that is zero everywhere (columns no calibration token reached) is no importance.
    let none = WeightMatrix(x, format: format, importance: [Float](repeating: 0, count: 1024))
    #expect(none.dequantized() == WeightMatrix(x, format: format).dequantized())
  }

  /// ggml's bytes back and forth: every format round-trips; q8 and q4 move their scales
  /// between the plane and the blocks (34 and 18 bytes a block); rows that are not whole
  /// blocks of 32 have no ggml form.
  @Test(arguments: WeightMatrix.Format.allCases) func ggmlLayoutsRoundTrip(format: WeightMatrix.Format) throws
  {
    var g = Xoshiro256StarStar(seed: 3)
    let w = WeightMatrix(Matrix<Float>.normal(rows: 5, columns: 512, using: &g), format: format)
    let bytes = try #require(w.ggmlBytes())
    #expect(bytes.count == w.byteCount)
    let owner = Keeper(bytes)
    let back = owner.bytes.withUnsafeBytes {
      WeightMatrix(ggml: $0, format: format, rows: 5, columns: 512, owner: owner)
    }
    #expect(back.dequantized() == w.dequantized(), "\(format.rawValue)")
    if format == .q8 {
      // Block 0: the half scale, then the 32 levels.
      let (quants, scales) = try #require(w.quantizedParts)
      #expect(Array(bytes[0..<2]) == Array(scales[0..<2]) && Array(bytes[2..<34]) == Array(quants[0..<32]))
    }
    #expect(WeightMatrix(Matrix<Float>(rows: 1, columns: 70), format: .q4).ggmlBytes() == nil)
  }

  final class Keeper: Sendable {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
  }
}
