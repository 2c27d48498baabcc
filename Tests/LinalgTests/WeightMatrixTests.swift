import Foundation
import Linalg
import Testing
import _TestSupport

/// Compact weights: exact conversions, rounding by hand-worked cases, and every product
/// path (few rows and tiled, every kernel the machine runs and the portable one) against
/// a `Double` loop over the dequantized weights (`KernelLevelTests` repeats the products
/// on every kernel level).
@Suite struct WeightMatrixTests {
  /// `x·Wᵀ` in `Double` over `W`'s exact `Float` values, with each entry's error bound
  /// `2·k·ε·Σ|x_p·w_p|` for float32 accumulation, plus, when the kernel quantizes `x` per
  /// block of 32 (`quantizedActivations`, the VNNI level), half a step of each block,
  /// `Σ_b max|x_b|/254 · Σ_{p∈b} |w_p|` (with 1 % for the float arithmetic around it).
  static func reference(_ x: Matrix<Float>, _ w: Matrix<Float>, quantizedActivations: Bool = false) -> (
    value: [[Double]], bound: [[Double]]
  ) {
    var value = [[Double]](repeating: [Double](repeating: 0, count: w.rows), count: x.rows)
    var bound = value
    for i in 0..<x.rows {
      for j in 0..<w.rows {
        var (sum, magnitude) = (0.0, 0.0)
        for p in 0..<x.columns {
          let product = Double(x[i, p]) * Double(w[j, p])
          sum += product
          magnitude += abs(product)
        }
        value[i][j] = sum
        bound[i][j] = 2 * Double(max(x.columns, 1)) * Double(Float.ulpOfOne) * magnitude + 1e-30
        if quantizedActivations {
          for start in stride(from: 0, to: x.columns, by: 32) {
            let block = start..<min(x.columns, start + 32)
            let step = Double(block.map { abs(x[i, $0]) }.max()!) / 254
            bound[i][j] += 1.01 * step * block.reduce(0) { $0 + abs(Double(w[j, $1])) }
          }
        }
      }
    }
    return (value, bound)
  }

  static let shapes: [(m: Int, n: Int, k: Int)] = [
    (1, 1, 1), (1, 5, 15), (2, 7, 17), (3, 9, 33), (4, 13, 100), (5, 6, 257), (7, 67, 31), (8, 12, 48),
    (9, 5, 19), (33, 70, 65),
  ]

  /// `k` rounded up to whole blocks of `format` where its rows must be (the ggml block formats).
  static func width(_ k: Int, _ format: WeightMatrix.Format) -> Int {
    format.holds(columns: k)
      ? k : (k + format.blockElements - 1) / format.blockElements * format.blockElements
  }

  func check(_ m: Int, _ n: Int, _ k: Int, seed: UInt64, format: WeightMatrix.Format = .bf16) {
    let k = Self.width(k, format)
    var g = Xoshiro256StarStar(seed: seed)
    let packed = WeightMatrix(Matrix<Float>.normal(rows: n, columns: k, using: &g), format: format)
    let x = Matrix<Float>.normal(rows: m, columns: k, using: &g)
    let (value, bound) = Self.reference(
      x, packed.dequantized(),
      quantizedActivations: format != .bf16 && Kernels.level == .avx512vnni && m <= 24)
    let y = packed.multiplied(x)
    var worst = 0.0
    for i in 0..<m { for j in 0..<n { worst = max(worst, abs(Double(y[i, j]) - value[i][j]) / bound[i][j]) } }
    #expect(
      worst <= 1, "\(m)×\(k)·(\(n)×\(k))ᵀ on \(Kernels.level): error \(worst) of the bound, seed \(seed)")
  }

  /// Built a few rows at a time (chunks that do not divide the rows, rows not a whole
  /// number of blocks), a matrix is the same one the whole conversion makes.
  @Test(arguments: WeightMatrix.Format.allCases) func chunkedConversionEqualsTheWhole(
    format: WeightMatrix.Format
  ) {
    var g = Xoshiro256StarStar(seed: 17)
    let columns = Self.width(70, format)
    let m = Matrix<Float>.normal(rows: 37, columns: columns, using: &g)
    let whole = WeightMatrix(m, format: format)
    for chunk in [1, 5, 36, 37, 100] {
      var asked: [Range<Int>] = []
      let built = WeightMatrix(format: format, rows: 37, columns: columns, chunkRows: chunk) { range in
        asked.append(range)
        return m[rows: range]
      }
      #expect(built.dequantized().elements == whole.dequantized().elements, "\(format), chunks of \(chunk)")
      #expect(asked.count == (37 + chunk - 1) / chunk && asked.last?.upperBound == 37)
    }
  }

  /// Gathered rows hold exactly the gathered elements, in every format (rows not a whole
  /// number of blocks, repeats and omissions), and keep the integer-dot-product setting.
  @Test(arguments: WeightMatrix.Format.allCases) func gatheredRowsAreTheRowsGathered(
    format: WeightMatrix.Format
  ) {
    var g = Xoshiro256StarStar(seed: 23)
    let columns = Self.width(70, format)
    var whole = WeightMatrix(Matrix<Float>.normal(rows: 9, columns: columns, using: &g), format: format)
    whole.integerDotProducts = false
    let order = [8, 0, 3, 3, 7, 1]
    let gathered = whole.gatheringRows(order)
    #expect(gathered.rows == 6 && gathered.columns == columns && !gathered.integerDotProducts)
    #expect(gathered.dequantized() == whole.dequantized().gatheringRows(order), "\(format)")
    #expect(gathered.byteCount == WeightMatrix.byteCount(format, rows: 6, columns: columns))
  }

  @Test func productsMatchTheReference() {
    for format in WeightMatrix.Format.allCases {
      for (index, shape) in Self.shapes.enumerated() {
        check(shape.m, shape.n, shape.k, seed: UInt64(index), format: format)
      }
    }
  }

  /// `dy·W` (a backward pass's `∂x`) against the reference over `W`'s dequantized values,
  /// in one tile and, with rows of 20,000 columns (tiles of 52 rows), in three.
  @Test(arguments: WeightMatrix.Format.allCases)
  func transposeProductsMatchTheReference(format: WeightMatrix.Format) {
    var g = Xoshiro256StarStar(seed: 41)
    for (m, rows, k) in [(5, 7, 33), (1, 1, 1), (3, 130, 20_000)] {
      let columns = Self.width(k, format)
      let packed = WeightMatrix(Matrix<Float>.normal(rows: rows, columns: columns, using: &g), format: format)
      let dy = Matrix<Float>.normal(rows: m, columns: rows, using: &g)
      let (value, bound) = Self.reference(dy, packed.dequantized().transposed)
      let dx = packed.transposeMultiplied(dy)
      #expect(dx.rows == m && dx.columns == columns)
      var worst = 0.0
      for i in 0..<m {
        for j in 0..<columns { worst = max(worst, abs(Double(dx[i, j]) - value[i][j]) / bound[i][j]) }
      }
      #expect(worst <= 1, "\(m)×\(rows)·(\(rows)×\(columns)) \(format): error \(worst) of the bound")
    }
  }

  /// q8: each element is within half a step (`max/127`) of its block's scale, plus the
  /// scale's half rounding; q4: within half a step, or a whole one (`max/8`) for elements
  /// clamped at level 7 on the far side of the largest one; the bytes are 8.5 or 4.5 bits
  /// a weight, and hand-worked blocks are exact.
  @Test(arguments: [WeightMatrix.Format.q8, .q4]) func quantizationErrorIsHalfAStep(
    format: WeightMatrix.Format
  ) {
    var g = Xoshiro256StarStar(seed: 31)
    let (rows, k) = (9, 75)
    let x = Matrix<Float>.normal(rows: rows, columns: k, using: &g)
    let w = WeightMatrix(x, format: format)
    let back = w.dequantized()
    let steps: Float = format == .q8 ? 127 : 8
    for r in 0..<rows {
      for start in stride(from: 0, to: k, by: 32) {
        let block = start..<min(k, start + 32)
        let largest = block.map { abs(x[r, $0]) }.max()!
        let d = largest / steps
        let allowed = format == .q8 ? d / 2 : d
        for c in block {
          #expect(abs(back[r, c] - x[r, c]) <= allowed * 1.002 + largest * 0x1p-11, "\(format) (\(r), \(c))")
        }
      }
    }
    let blocks = (k + 31) / 32
    #expect(w.byteCount == rows * blocks * ((format == .q8 ? 32 : 16) + 2))
    // q4 with −8 the element of largest magnitude: d = 1, so 0.5 rounds to the even 0,
    // 2.5 to 2, −3.5 to −4, and 9 clamps to 7.
    let exact = WeightMatrix(Matrix(row: [0, 1, -1, 0.5, -0.5, -8, 2.5, -3.5, 7]), format: .q4).dequantized()
    #expect(exact == Matrix(row: [0, 1, -1, 0, 0, -8, 2, -4, 7]))
    // With +8 the largest, the scale is negative: d = −1, and 8 maps to level −8.
    let flipped = WeightMatrix(Matrix(row: [8, -7, 3]), format: .q4).dequantized()
    #expect(flipped == Matrix(row: [8, -7, 3]))
  }

  /// A block holding NaN or ±∞ dequantizes to NaN (MXFP4, which has no NaN: to +∞); the
  /// blocks beside it are untouched.
  @Test(arguments: WeightMatrix.Format.allCases.filter { $0 != .bf16 }) func nonFiniteBlocksStayNonFinite(
    format: WeightMatrix.Format
  ) {
    let block = format.blockElements
    var row = [Float](repeating: 0.25, count: block + 38 * block / 32)
    row[block + 8 * block / 32] = .nan
    row[row.count - 5] = .infinity
    let columns = Self.width(row.count, format)
    row += [Float](repeating: .nan, count: columns - row.count)
    let back = WeightMatrix(Matrix(row: row), format: format).dequantized()
    #expect((0..<block).allSatisfy { abs(back[0, $0] - 0.25) < 0.01 }, "\(format)")
    #expect(
      (block..<columns).allSatisfy { format == .mxfp4 ? back[0, $0] == .infinity : back[0, $0].isNaN },
      "\(format)")
  }

  /// A grouped product equals each expert's own product on its rows, in the few-row
  /// (shared dispatch) and the many-row regimes, with empty ranges among them.
  @Test(arguments: [[3, 0, 1, 8, 2], [30, 0, 25, 9]], WeightMatrix.Format.allCases)
  func groupedProductsEqualTheSeparateOnes(counts: [Int], format: WeightMatrix.Format) {
    var g = Xoshiro256StarStar(seed: 21)
    let (k, n) = (Self.width(70, format), 37)
    let weights = counts.indices.map { e in
      WeightMatrix(Matrix<Float>.normal(rows: n - e, columns: k, using: &g), format: format)
    }
    var start = 0
    let ranges = counts.map { c -> Range<Int> in
      defer { start += c }
      return start..<start + c
    }
    let x = Matrix<Float>.normal(rows: start, columns: k, using: &g)
    var y = Matrix<Float>(rows: start, columns: n)
    BLAS.withThreadCount(2) { WeightMatrix.groupedMultiply(weights, x, rowRanges: ranges, into: &y) }
    for (w, range) in zip(weights, ranges) where !range.isEmpty {
      let alone = w.multiplied(x[rows: range])
      for r in 0..<range.count {
        for c in 0..<w.rows {
          #expect(y[range.lowerBound + r, c] == alone[r, c], "\(counts) row \(r) col \(c)")
        }
      }
    }
  }

  @Test func productsSplitOverThreadsAgree() {
    BLAS.withThreadCount(2) {
      check(1, 1030, 512, seed: 11)
      check(6, 2051, 256, seed: 12)
      check(40, 700, 300, seed: 13)
    }
  }

  @Test func bf16RoundsToNearestEvenAndIsExactBack() {
    let exact: [Float] = [0, -0, 1, -2.5, 0.15625, 65280, 0x1p-126, 0x1p-133, .infinity, -.infinity]
    let cases: [(Float, Float)] = [
      (1 + 0x1p-8, 1),  // a tie: the even neighbour is 1
      (1 + 3 * 0x1p-8, 1 + 0x1p-6),  // a tie: rounds up to the even 1 + 2⁻⁶
      (1 + 0x1p-8 + 0x1p-20, 1 + 0x1p-7),  // past the tie
      (-(1 + 0x1p-9), -1),
      (Float.greatestFiniteMagnitude, .infinity),  // beyond bf16's largest finite value
      (.leastNonzeroMagnitude, 0),  // below bf16's smallest subnormal, 2⁻¹³³
    ]
    let inputs = exact + cases.map(\.0) + [.nan]
    let w = WeightMatrix(Matrix(rows: 1, columns: inputs.count, elements: inputs), format: .bf16)
    let back = w.dequantized()
    for (i, value) in exact.enumerated() {
      #expect(back[0, i] == value && back[0, i].sign == value.sign, "\(value)")
    }
    for (i, (input, expected)) in cases.enumerated() {
      #expect(
        back[0, exact.count + i] == expected, "\(input) → \(back[0, exact.count + i]), expected \(expected)")
    }
    #expect(back[0, inputs.count - 1].isNaN)
    #expect(w.byteCount == 2 * inputs.count)
  }

  @Test func bf16ErrorIsAtMostHalfAnUnitInTheLastPlace() {
    var g = Xoshiro256StarStar(seed: 4)
    let x = Matrix<Float>.normal(rows: 64, columns: 64, using: &g)
    let back = WeightMatrix(x, format: .bf16).dequantized()
    for i in 0..<64 {
      for j in 0..<64 {
        #expect(abs(back[i, j] - x[i, j]) <= abs(x[i, j]) * 0x1p-8, "\(x[i, j]) → \(back[i, j])")
      }
    }
  }

  @Test func borrowedBytesAreReadInPlace() {
    let values: [Float] = [1, -2, 0.5, 4, 3, -1]
    let storage = BytesOwner(WeightMatrix(Matrix(rows: 2, columns: 3, elements: values), format: .bf16))
    let borrowed = storage.bytes.withUnsafeBytes { raw in
      WeightMatrix(bf16: raw, rows: 2, columns: 3, owner: storage)
    }
    #expect(borrowed.dequantized() == Matrix(rows: 2, columns: 3, elements: values))
  }

  /// Keeps a copy of a matrix's bytes alive for a borrowing `WeightMatrix`.
  final class BytesOwner: Sendable {
    let bytes: [UInt8]
    init(_ w: WeightMatrix) {
      let m = w.dequantized()
      bytes = (0..<m.count).flatMap { i -> [UInt8] in
        let bits = m[i / m.columns, i % m.columns].bitPattern >> 16
        return [UInt8(bits & 0xff), UInt8(bits >> 8)]
      }
    }
  }
}
