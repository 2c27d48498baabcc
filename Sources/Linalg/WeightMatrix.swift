import CKernels

/// A weight matrix that is only ever multiplied, `y = x·Wᵀ` (`W` is `rows × columns`,
/// out × in, the PyTorch convention), held in a compact format instead of `Float`.
///
/// **Formats and byte layout** (row-major, rows contiguous, little-endian):
/// - `bf16`: 2 bytes per element, the upper half of the element's float32 bits (sign, 8
///   exponent bits, 7 mantissa bits) — what bf16 safetensors store. Conversion from
///   `Float` rounds to nearest, ties to even; back to `Float` is exact.
/// - `q8`, `q4`: each row in blocks of 32 elements (the last padded with zeros), each block
///   with one IEEE half scale: `d = max|x|/127` (q8), or `d = −x_e/8` for the block's
///   element `x_e` of largest magnitude (q4, so `q` spans all 16 levels −8…7). The bytes hold
///   first every row's quants — 32 `int8` `q` per block (q8), or 16 bytes per block whose
///   byte `i` holds element `i` in its low nibble and `i + 16` in its high one, as `q + 8`
///   (q4) — then every row's scales, `⌈in/32⌉` halves per row. Element = `d·q`, with `q`
///   = `x/d` rounded to nearest (ties even) and clamped to ±127 or −8…7; dequantization is
///   exact. 8.5 and 4.5 bits per weight; a block holding NaN or ±∞ dequantizes to NaN.
///   Their blocks are ggml's Q8_0 and Q4_0 blocks with the scales moved to a plane of their
///   own: the same numbers, so a GGUF Q8_0/Q4_0 tensor converts both ways without loss
///   (`init(ggml:format:rows:columns:)`, `ggmlBytes()`).
/// - `q4K`, `q5K`, `q6K`, `mxfp4`: ggml's Q4_K, Q5_K, Q6_K and MXFP4 block structures byte
///   for byte, every row a whole number of blocks (256 elements for the K-quants, 32 for
///   MXFP4), rows one after another — a GGUF file's tensor bytes, usable in place. Q4_K and
///   Q5_K hold per super-block an IEEE half `d` and `dmin` and per sub-block of 32 a 6-bit
///   scale `sc` and minimum `m`: element `d·sc·q − dmin·m`, `q` 4 or 5 bits (4.5 and 5.5 bits
///   per weight). Q6_K holds per sub-block of 16 an `int8` scale and per element 6 bits:
///   `d·sc·(q − 32)` (6.5625 bits). MXFP4 holds per 32 an E8M0 exponent and per element an
///   FP4 (E2M1) code: `2^(e−127)·fp4(q)` (4.25 bits). Quantization fits every sub-block's
///   scale and minimum for the smallest weighted squared error (`init(_:format:importance:)`);
///   dequantization is bit-identical to ggml's.
///
/// **Products.** Up to `fewRows` rows of `x` (decode, and the few tokens an expert gets in
/// a short prefill) go through `mk_bf16_gemm_few_rows`, which reads each weight row once
/// for every 8 of them (AVX-512F or AVX2+FMA, portable C otherwise; the rows of `W` are
/// split over `BLAS.threadCount` workers; q8, q4 and ggml's block formats take integer dot
/// products on AVX-512 VNNI, and otherwise the block formats dequantize four rows at a time
/// into the first-level cache for the float kernel); more rows (prefill) dequantize tiles of
/// `W` into `Float` and multiply each with `sgemm`.
///
/// The bytes are owned by the matrix or borrowed from memory that an `owner` keeps alive
/// (a memory-mapped checkpoint), so a bf16 checkpoint is used where it lies.
public struct WeightMatrix: Sendable {
  /// How the elements are stored.
  public enum Format: String, Sendable, CaseIterable {
    /// bfloat16 (2 bytes per element).
    case bf16
    /// 8-bit integers in blocks of 32 with a half-float scale (8.5 bits per element).
    case q8
    /// 4-bit integers in blocks of 32 with a half-float scale (4.5 bits per element).
    case q4
    /// ggml's Q4_K: super-blocks of 256, 4-bit levels under 6-bit sub-block scales and
    /// minimums (4.5 bits per element).
    case q4K = "q4_K"
    /// ggml's Q5_K: as Q4_K with 5-bit levels (5.5 bits per element).
    case q5K = "q5_K"
    /// ggml's Q6_K: super-blocks of 256, signed 6-bit levels under 8-bit scales of 16
    /// (6.5625 bits per element).
    case q6K = "q6_K"
    /// ggml's MXFP4 (OCP microscaling): FP4 codes under a power-of-two scale per 32 (4.25
    /// bits per element); gpt-oss's expert format.
    case mxfp4

    /// The `CKernels` format code of a block-quantized format.
    var code: Int32 {
      switch self {
      case .bf16: 0
      case .q8: Int32(MK_FORMAT_Q8)
      case .q4: Int32(MK_FORMAT_Q4)
      case .q4K: Int32(MK_FORMAT_Q4_K)
      case .q5K: Int32(MK_FORMAT_Q5_K)
      case .q6K: Int32(MK_FORMAT_Q6_K)
      case .mxfp4: Int32(MK_FORMAT_MXFP4)
      }
    }

    /// Whether the format keeps ggml's block structures whole (scales beside their levels).
    var isGGMLBlocks: Bool { [.q4K, .q5K, .q6K, .mxfp4].contains(self) }

    /// Whether the format keeps its scales in a plane of their own (q8, q4).
    var hasScalePlane: Bool { self == .q8 || self == .q4 }

    /// Elements that share a block (the row length must be a multiple of it for the
    /// ggml block formats; q8 and q4 pad their last block).
    public var blockElements: Int {
      switch self {
      case .bf16: 1
      case .q8, .q4, .mxfp4: 32
      case .q4K, .q5K, .q6K: 256
      }
    }

    /// Bits a row of `columns` takes per element, scales included.
    public func bitsPerWeight(columns: Int) -> Double {
      Double(WeightMatrix.byteCount(self, rows: 1, columns: columns) * 8) / Double(Swift.max(columns, 1))
    }

    /// Whether rows of `columns` elements can be held in this format: every format but the
    /// ggml block ones takes any length; those need a whole number of blocks.
    public func holds(columns: Int) -> Bool { !isGGMLBlocks || columns % blockElements == 0 }

    /// This format where it holds rows of `columns`, else q8 (more bits, never less
    /// accuracy; llama.cpp falls back the same way for rows that are not whole super-blocks).
    public func fitting(columns: Int) -> Format { holds(columns: columns) ? self : .q8 }
  }

  /// The format.
  public let format: Format
  /// `out`.
  public let rows: Int
  /// `in`.
  public let columns: Int
  /// Whether products of few rows with every format but bf16 may use integer dot products where the
  /// processor has them (AVX-512 VNNI): the rows of `x` are then quantized per block of 32
  /// to int8 (scale max|x|/127), which is faster and adds up to half a step of those
  /// blocks times the weights' magnitudes to each result. `false` keeps products exact to
  /// float rounding. Ignored for bf16.
  public var integerDotProducts = true
  let storage: _WeightStorage

  /// Identifies the bytes this matrix reads: equal for copies of one value, different for
  /// any matrix built or converted anew (a row gather, a quantization). Lets a caller tell
  /// which of its weights a product met (`MoE.ForwardObserver`).
  public var storageIdentifier: ObjectIdentifier { ObjectIdentifier(storage) }

  /// Products with at most this many rows of `x` use the few-row kernel (three passes
  /// over the bf16 weights still move fewer bytes than dequantizing them for `sgemm`).
  public static let fewRows = 24

  /// `matrix` converted to `format` (bf16: rounded to nearest, ties to even; q8 and q4:
  /// quantized per block as the type's documentation says; the ggml block formats: fitted
  /// for the smallest squared error weighted by `importance`).
  ///
  /// `importance` (one non-negative number a column, e.g. the mean square of the activations
  /// each input column meets) weights the error of the ggml block formats' fits, and of q4's,
  /// whose scale is then searched as ggml's Q4_0 does given an importance matrix (without it,
  /// q4 takes the scale of the block's extreme, as ggml's reference quantizer does). `nil`
  /// weights large elements more (`σ + |x|`). q8 and bf16 round and ignore it.
  ///
  /// - Precondition: `format.holds(columns: matrix.columns)`; `importance` has `columns`
  ///   finite non-negative entries.
  public init(_ matrix: Matrix<Float>, format: Format, importance: [Float]? = nil) {
    self.init(
      format: format, rows: matrix.rows, columns: matrix.columns, chunkRows: max(matrix.rows, 1),
      importance: importance
    ) { _ in matrix }
  }

  /// A `rows × columns` matrix in `format` built `chunkRows` rows at a time: `rowsOf(range)`
  /// gives rows `range` in Float (`range.count × columns`), which are converted and dropped,
  /// so a large matrix never exists whole in Float (quantizing at load stays near the
  /// compact size). Identical to converting the whole matrix: every row is encoded on its own.
  ///
  /// - Precondition: `chunkRows ≥ 1`; each chunk has the shape asked for; as for
  ///   `init(_:format:importance:)`.
  public init(
    format: Format, rows: Int, columns: Int, chunkRows: Int = 64, importance: [Float]? = nil,
    rowsOf: (Range<Int>) throws -> Matrix<Float>
  ) rethrows {
    precondition(chunkRows >= 1, "WeightMatrix: chunks of \(chunkRows) rows")
    precondition(
      format.holds(columns: columns),
      "WeightMatrix: \(format.rawValue) rows are whole blocks of \(format.blockElements), not \(columns) elements"
    )
    precondition(
      importance.map { $0.count == columns && $0.allSatisfy { $0 >= 0 && $0.isFinite } } ?? true,
      "WeightMatrix: importance needs \(columns) finite non-negative entries")
    let storage = _WeightStorage(byteCount: Self.byteCount(format, rows: rows, columns: columns))
    let out = UnsafeMutableRawPointer(mutating: storage.bytes.baseAddress!)
    // q8/q4 keep every row's quants first, then every row's scales.
    let blocks = (columns + 31) / 32
    let quantBytes = format == .q8 ? 32 : 16
    // A q8/q4 chunk is quantized into this buffer, then its quants and scales are copied to
    // their places (the whole matrix at once goes straight to `out`).
    let part =
      format.hasScalePlane && chunkRows < rows
      ? UnsafeMutableRawBufferPointer.allocate(
        byteCount: Self.byteCount(format, rows: chunkRows, columns: columns), alignment: 64) : nil
    defer { part?.deallocate() }
    for start in stride(from: 0, to: rows, by: chunkRows) {
      let range = start..<Swift.min(start + chunkRows, rows)
      let chunk = try rowsOf(range)
      precondition(
        chunk.rows == range.count && chunk.columns == columns,
        "WeightMatrix: rows \(range) came as \(chunk.rows)×\(chunk.columns)")
      chunk.withUnsafeBufferPointer { p in
        guard let x = p.baseAddress else { return }
        switch format {
        case .bf16:
          mk_f32_to_bf16(x, (out + 2 * start * columns).assumingMemoryBound(to: UInt16.self), p.count)
        case .q4K, .q5K, .q6K, .mxfp4:
          let offset = Self.byteCount(format, rows: start, columns: columns)
          Self.quantizeBlocks(
            format, x, rows: range.count, columns: columns, importance: importance,
            into: (out + offset).assumingMemoryBound(to: UInt8.self))
        case .q8, .q4:
          (importance ?? []).withUnsafeBufferPointer { weights in
            let weights = format == .q4 && importance != nil ? weights.baseAddress : nil
            guard let part else {
              mk_quantize(format.code, x, rows, columns, weights, out.assumingMemoryBound(to: UInt8.self))
              return
            }
            mk_quantize(
              format.code, x, range.count, columns, weights,
              part.baseAddress!.assumingMemoryBound(to: UInt8.self))
          }
          guard let part else { return }
          let quants = range.count * blocks * quantBytes
          (out + start * blocks * quantBytes).copyMemory(from: part.baseAddress!, byteCount: quants)
          (out + rows * blocks * quantBytes + 2 * start * blocks).copyMemory(
            from: part.baseAddress! + quants, byteCount: 2 * range.count * blocks)
        }
      }
    }
    self.init(format: format, rows: rows, columns: columns, storage: storage)
  }

  /// Quantizes `rows × columns` floats at `x` into a ggml block format at `out`, the rows
  /// split over `BLAS.threadCount` workers (the fits cost about 100 ns an element).
  private static func quantizeBlocks(
    _ format: Format, _ x: UnsafePointer<Float>, rows: Int, columns: Int, importance: [Float]?,
    into out: UnsafeMutablePointer<UInt8>
  ) {
    let workers = Swift.max(1, Swift.min(BLAS.threadCount, rows * columns / (1 << 16), rows))
    let share = (rows + workers - 1) / workers
    let job = _QuantizeJob(x: x, out: out)
    let rowBytes = byteCount(format, rows: 1, columns: columns)
    let weights = importance ?? []
    Kernels.concurrentPerform(iterations: workers) { worker in
      let begin = worker * share
      let count = Swift.min(rows, begin + share) - begin
      guard count > 0 else { return }
      weights.withUnsafeBufferPointer { w in
        mk_blocks_quantize(
          format.code, job.x + begin * columns, count, columns, w.isEmpty ? nil : w.baseAddress,
          job.out + begin * rowBytes)
      }
    }
  }

  private struct _QuantizeJob: @unchecked Sendable {
    let x: UnsafePointer<Float>
    let out: UnsafeMutablePointer<UInt8>
  }

  /// Bytes a `rows × columns` matrix takes in `format`.
  public static func byteCount(_ format: Format, rows: Int, columns: Int) -> Int {
    switch format {
    case .bf16: 2 * rows * columns
    case .q8, .q4: Int(mk_quantized_bytes(format.code, rows, columns))
    case .q4K, .q5K, .q6K, .mxfp4: Int(mk_blocks_bytes(format.code, rows, columns))
    }
  }

  /// A q8 or q4 matrix from its two parts as MoEKit's checkpoints store them: `quants`
  /// (every row's blocks, `⌈columns/32⌉·32` or `·16` bytes a row) and `scales` (IEEE
  /// halves, `⌈columns/32⌉` a row), copied into one buffer.
  ///
  /// - Precondition: the byte counts fit the format and shape.
  public init(
    quantized format: Format, rows: Int, columns: Int, quants: UnsafeRawBufferPointer,
    scales: UnsafeRawBufferPointer
  ) {
    let blocks = (columns + 31) / 32
    precondition(
      format.hasScalePlane && quants.count == rows * blocks * (format == .q8 ? 32 : 16)
        && scales.count == rows * blocks * 2,
      "WeightMatrix: \(quants.count) quant and \(scales.count) scale bytes for a \(rows)×\(columns) \(format) matrix"
    )
    let storage = _WeightStorage(byteCount: quants.count + scales.count)
    let out = UnsafeMutableRawPointer(mutating: storage.bytes.baseAddress!)
    if let q = quants.baseAddress { out.copyMemory(from: q, byteCount: quants.count) }
    if let s = scales.baseAddress { (out + quants.count).copyMemory(from: s, byteCount: scales.count) }
    self.init(format: format, rows: rows, columns: columns, storage: storage)
  }

  /// The quant bytes and the scale bytes of a q8 or q4 matrix (see the layout above).
  public var quantizedParts: (quants: UnsafeRawBufferPointer, scales: UnsafeRawBufferPointer)? {
    guard format.hasScalePlane else { return nil }
    let quantBytes = rows * ((columns + 31) / 32) * (format == .q8 ? 32 : 16)
    return (
      UnsafeRawBufferPointer(rebasing: storage.bytes[0..<quantBytes]),
      UnsafeRawBufferPointer(rebasing: storage.bytes[quantBytes...])
    )
  }

  /// The bytes of a bf16 matrix (`2·rows·columns`), or `nil` for another format.
  public var bf16Bytes: UnsafeRawBufferPointer? { format == .bf16 ? storage.bytes : nil }

  /// A `rows × columns` bf16 matrix over `bytes` (`2·rows·columns` of them, read in place),
  /// which `owner` keeps valid for as long as the matrix lives.
  ///
  /// - Precondition: `bytes.count == 2·rows·columns` and `bytes` is 2-byte aligned.
  public init(bf16 bytes: UnsafeRawBufferPointer, rows: Int, columns: Int, owner: any AnyObject & Sendable) {
    precondition(
      bytes.count == 2 * rows * columns && Int(bitPattern: bytes.baseAddress) % 2 == 0,
      "WeightMatrix: \(bytes.count) bytes for a \(rows)×\(columns) bf16 matrix")
    self.init(
      format: .bf16, rows: rows, columns: columns, storage: _WeightStorage(borrowing: bytes, owner: owner))
  }

  /// This matrix in memory of its own: a copy when its bytes are borrowed (from a mapped
  /// file), `self` when it owns them already.
  public func owned() -> WeightMatrix {
    guard !storage.owned else { return self }
    let copy = _WeightStorage(byteCount: storage.bytes.count)
    if let base = storage.bytes.baseAddress {
      UnsafeMutableRawPointer(mutating: copy.bytes.baseAddress!).copyMemory(
        from: base, byteCount: storage.bytes.count)
    }
    var matrix = WeightMatrix(format: format, rows: rows, columns: columns, storage: copy)
    matrix.integerDotProducts = integerDotProducts
    return matrix
  }

  init(format: Format, rows: Int, columns: Int, storage: _WeightStorage) {
    (self.format, self.rows, self.columns, self.storage) = (format, rows, columns, storage)
  }

  /// The bytes that hold the elements.
  public var byteCount: Int { storage.bytes.count }

  /// The elements as `Float` (exact).
  public func dequantized() -> Matrix<Float> { dequantized(rows: 0..<rows) }

  /// Rows `range` as `Float` (exact).
  public func dequantized(rows range: Range<Int>) -> Matrix<Float> {
    precondition(range.lowerBound >= 0 && range.upperBound <= rows, "WeightMatrix: rows \(range) of \(rows)")
    var m = Matrix<Float>(rows: range.count, columns: columns)
    m.withUnsafeMutableBufferPointer { out in
      guard let base = out.baseAddress else { return }
      dequantize(rows: range, into: base)
    }
    return m
  }

  /// Rows `range` as `Float`, written `columns` apart from `out`.
  func dequantize(rows range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
    switch format {
    case .bf16: mk_bf16_to_f32(elements + range.lowerBound * columns, out, range.count * columns)
    case .q8, .q4:
      mk_dequantize_rows(format.code, bytes, rows, columns, range.lowerBound, range.upperBound, out)
    case .q4K, .q5K, .q6K, .mxfp4:
      mk_blocks_dequantize_rows(format.code, bytes, columns, range.lowerBound, range.upperBound, out)
    }
  }

  /// `y` columns `begin..<end` ← `m` rows of `x` times weight rows `begin..<end`: the few-row
  /// kernel of the format.
  func fewRows(
    m: Int, begin: Int, end: Int, x: UnsafePointer<Float>, ldx: Int, y: UnsafeMutablePointer<Float>, ldy: Int,
    activations: QuantizedActivations?
  ) {
    switch format {
    case .bf16: mk_bf16_gemm_few_rows(m, begin, end, columns, x, ldx, elements, columns, 0, y, ldy)
    case .q8, .q4:
      mk_quantized_gemm_few_rows(
        format.code, activations?.bytes, m, begin, end, columns, x, ldx, bytes, rows, y, ldy)
    case .q4K, .q5K, .q6K, .mxfp4:
      mk_blocks_gemm_few_rows(format.code, activations?.bytes, m, begin, end, columns, x, ldx, bytes, y, ldy)
    }
  }

  /// `x`'s `m` rows quantized once for the integer dot products of a product with this
  /// matrix, or `nil` where they do not apply (bf16, `integerDotProducts` off, no VNNI).
  func quantizedActivations(m: Int, x: UnsafePointer<Float>, ldx: Int) -> QuantizedActivations? {
    guard format != .bf16, integerDotProducts, Kernels.level == .avx512vnni else { return nil }
    let buffer = QuantizedActivations(byteCount: mk_activation_bytes(m, columns))
    guard mk_quantize_activations(x, ldx, m, columns, buffer.bytes) != 0 else { return nil }
    return buffer
  }

  /// Rows of `x` quantized for integer dot products (freed with the object).
  final class QuantizedActivations: @unchecked Sendable {
    let bytes: UnsafeMutableRawPointer
    init(byteCount: Int) { bytes = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64) }
    deinit { bytes.deallocate() }
  }

  var bytes: UnsafePointer<UInt8> { storage.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) }

  var elements: UnsafePointer<UInt16> {
    UnsafePointer(storage.bytes.baseAddress!.assumingMemoryBound(to: UInt16.self))
  }

  /// `x·Wᵀ` for `x` of `m × columns`.
  public func multiplied(_ x: Matrix<Float>) -> Matrix<Float> {
    var y = Matrix<Float>(rows: x.rows, columns: rows)
    multiply(x, into: &y)
    return y
  }

  /// `y ← x·Wᵀ` (`x` is `m × columns`, `y` is `m × rows`).
  ///
  /// - Precondition: `Scalar` is `Float` (the products are float32).
  public func multiply<Scalar: BLASScalar>(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) {
    precondition(Scalar.self == Float.self, "WeightMatrix: products are Float, not \(Scalar.self)")
    precondition(
      x.columns == columns && y.rows == x.rows && y.columns == rows,
      "WeightMatrix: \(x.rows)×\(x.columns) · (\(rows)×\(columns))ᵀ into \(y.rows)×\(y.columns)")
    guard x.rows > 0 && rows > 0 else { return }
    x.withUnsafeBufferPointer { px in
      y.withUnsafeMutableBufferPointer { py in
        multiply(
          m: x.rows, x: UnsafeRawPointer(px.baseAddress!).assumingMemoryBound(to: Float.self), ldx: columns,
          y: UnsafeMutableRawPointer(py.baseAddress!).assumingMemoryBound(to: Float.self), ldy: rows)
      }
    }
  }

  /// `y ← x·Wᵀ` over raw rows: `x` holds `m` rows of `columns` (`ldx` apart), `y` `m`
  /// rows of `rows` (`ldy` apart).
  func multiply(m: Int, x: UnsafePointer<Float>, ldx: Int, y: UnsafeMutablePointer<Float>, ldy: Int) {
    if m <= Self.fewRows {
      let (n, k) = (rows, columns)
      let workers = Swift.max(1, Swift.min(BLAS.threadCount, n * k / (1 << 18), n / 8))
      let pointers = _Pointers(x: x, y: y)
      let share = (n / workers + 3) & ~3
      let activations = quantizedActivations(m: m, x: x, ldx: ldx)
      Kernels.concurrentPerform(iterations: workers) { worker in
        let begin = Swift.min(n, worker * share)
        let end = worker == workers - 1 ? n : Swift.min(n, begin + share)
        guard begin < end else { return }
        fewRows(
          m: m, begin: begin, end: end, x: pointers.x, ldx: ldx, y: pointers.y, ldy: ldy,
          activations: activations)
      }
      return
    }
    // Tiles of about 4 MB of Float weights, each one sgemm over every row of x.
    forEachTile { range, tile in
      Float._gemm(
        transposeA: false, transposeB: true, m: m, n: range.count, k: columns, alpha: 1, a: x, lda: ldx,
        b: tile, ldb: columns, beta: 0, c: y + range.lowerBound, ldc: ldy)
    }
  }

  /// Calls `body` with each tile of about 4 MB of `W`'s rows, dequantized into `Float`
  /// (`range.count × columns`, row-major), in order.
  private func forEachTile(_ body: (_ range: Range<Int>, _ tile: UnsafePointer<Float>) -> Void) {
    let tileRows = Self.tileRows(columns: columns, of: rows)
    var tile = [Float](repeating: 0, count: tileRows * columns)
    tile.withUnsafeMutableBufferPointer { t in
      var start = 0
      while start < rows {
        let range = start..<Swift.min(rows, start + tileRows)
        dequantize(rows: range, into: t.baseAddress!)
        body(range, t.baseAddress!)
        start = range.upperBound
      }
    }
  }

  /// `dy·W` for `dy` of `m × rows` (`m × columns`): the product a backward pass needs for
  /// `∂x`, computed a tile of `W`'s rows at a time (dequantized into about 4 MB of `Float`,
  /// each tile's share added by `sgemm`), so the whole matrix is never expanded.
  public func transposeMultiplied(_ dy: Matrix<Float>) -> Matrix<Float> {
    precondition(dy.columns == rows, "WeightMatrix: \(dy.rows)×\(dy.columns) · (\(rows)×\(columns))")
    var dx = Matrix<Float>(rows: dy.rows, columns: columns)
    guard dy.rows > 0 && rows > 0 && columns > 0 else { return dx }
    dy.withUnsafeBufferPointer { pdy in
      dx.withUnsafeMutableBufferPointer { pdx in
        forEachTile { range, tile in
          Float._gemm(
            transposeA: false, transposeB: false, m: dy.rows, n: columns, k: range.count, alpha: 1,
            a: pdy.baseAddress! + range.lowerBound, lda: rows, b: tile, ldb: columns,
            beta: range.lowerBound == 0 ? 0 : 1, c: pdx.baseAddress!, ldc: columns)
        }
      }
    }
    return dx
  }

  /// Rows of a tile of about 4 MB of `Float` (at least 16, at most `rows`).
  static func tileRows(columns: Int, of rows: Int) -> Int {
    Swift.max(16, Swift.min(rows, (1 << 20) / Swift.max(1, columns)))
  }

  private struct _Pointers: @unchecked Sendable {
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
  }
}

/// The bytes of a `WeightMatrix`: allocated and owned, or borrowed from memory an owner
/// keeps alive. Never mutated after initialisation.
final class _WeightStorage: @unchecked Sendable {
  let bytes: UnsafeRawBufferPointer
  private let owner: (any AnyObject & Sendable)?
  /// Whether the bytes are this storage's own (freed with it).
  let owned: Bool

  init(byteCount: Int) {
    bytes = UnsafeRawBufferPointer(
      UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: 64))
    (owner, owned) = (nil, true)
  }

  init(borrowing bytes: UnsafeRawBufferPointer, owner: any AnyObject & Sendable) {
    (self.bytes, self.owner, owned) = (bytes, owner, false)
  }

  deinit { if owned { UnsafeMutableRawBufferPointer(mutating: bytes).deallocate() } }
}
