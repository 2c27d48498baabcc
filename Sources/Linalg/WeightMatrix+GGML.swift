extension WeightMatrix {
  /// A `rows × columns` matrix over tensor bytes in ggml's layout for `format` (what a GGUF
  /// file stores): bf16 and the ggml block formats are used where they lie (`owner` keeps
  /// them valid); q8 and q4 (ggml's Q8_0 and Q4_0: per block of 32 a half scale, then 32
  /// `int8` or 16 bytes of nibbles) are copied with their scales moved to the scale plane —
  /// the same numbers, nothing requantized.
  ///
  /// - Precondition: `format.holds(columns:)`, q8 and q4 rows are whole blocks of 32, and
  ///   `bytes.count` is `byteCount(format, rows:columns:)` (ggml's layouts take the same
  ///   bytes as MoEKit's).
  public init(
    ggml bytes: UnsafeRawBufferPointer, format: Format, rows: Int, columns: Int,
    owner: any AnyObject & Sendable
  ) {
    precondition(
      format.holds(columns: columns) && (format.isGGMLBlocks || columns % format.blockElements == 0)
        && bytes.count == Self.byteCount(format, rows: rows, columns: columns),
      "WeightMatrix: \(bytes.count) bytes for a \(rows)×\(columns) \(format.rawValue) matrix in ggml's layout"
    )
    switch format {
    case .bf16:
      self.init(bf16: bytes, rows: rows, columns: columns, owner: owner)
    case .q4K, .q5K, .q6K, .mxfp4:
      self.init(
        format: format, rows: rows, columns: columns, storage: _WeightStorage(borrowing: bytes, owner: owner))
    case .q8, .q4:
      let storage = _WeightStorage(byteCount: bytes.count)
      Self.moveScales(
        format, blocks: rows * columns / 32,
        planar: UnsafeMutableRawPointer(mutating: storage.bytes.baseAddress!),
        ggml: UnsafeMutableRawPointer(mutating: bytes.baseAddress!), toGGML: false)
      self.init(format: format, rows: rows, columns: columns, storage: storage)
    }
  }

  /// Copies q8/q4 blocks between MoEKit's layout (`planar`: every block's levels, then every
  /// block's half scale) and ggml's (`ggml`: each block's scale before its levels), in the
  /// direction `toGGML` says.
  static func moveScales(
    _ format: Format, blocks: Int, planar: UnsafeMutableRawPointer, ggml: UnsafeMutableRawPointer,
    toGGML: Bool
  ) {
    let quantBytes = format == .q8 ? 32 : 16
    for b in 0..<blocks {
      let (block, levels, scale) = (
        ggml + b * (quantBytes + 2), planar + b * quantBytes, planar + blocks * quantBytes + 2 * b
      )
      if toGGML {
        block.copyMemory(from: scale, byteCount: 2)
        (block + 2).copyMemory(from: levels, byteCount: quantBytes)
      } else {
        scale.copyMemory(from: block, byteCount: 2)
        levels.copyMemory(from: block + 2, byteCount: quantBytes)
      }
    }
  }

  /// The elements in ggml's layout for the format (a GGUF tensor's bytes): bf16 and the
  /// ggml block formats as held; q8 and q4 with each block's scale put back before its
  /// levels (Q8_0, Q4_0). `nil` for q8 and q4 rows that are not whole blocks of 32, which
  /// ggml cannot hold.
  public func ggmlBytes() -> [UInt8]? {
    switch format {
    case .bf16, .q4K, .q5K, .q6K, .mxfp4:
      return Array(storage.bytes)
    case .q8, .q4:
      guard columns % 32 == 0 else { return nil }
      var out = [UInt8](repeating: 0, count: storage.bytes.count)
      out.withUnsafeMutableBytes {
        Self.moveScales(
          format, blocks: rows * columns / 32,
          planar: UnsafeMutableRawPointer(mutating: storage.bytes.baseAddress!),
          ggml: $0.baseAddress!, toGGML: true)
      }
      return out
    }
  }
}
