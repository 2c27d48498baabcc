/// Little-endian element decoding and encoding for the file formats, without alignment
/// assumptions.
enum ElementDecoding {
  /// Floating-point elements of `type` widened to `Double`.
  static func floats(_ raw: UnsafeRawBufferPointer, _ type: SafeTensorsDataType) -> [Double] {
    let count = raw.count / type.size
    return (0..<count).map { i in
      let offset = i * type.size
      switch type {
      case .f16:
        return Double(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
      case .bf16:
        let bits = UInt32(raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) << 16
        return Double(Float(bitPattern: bits))
      case .f32: return Double(Float(bitPattern: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
      case .f64: return Double(bitPattern: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
      case .i32: return Double(Int32(bitPattern: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
      case .i64: return Double(Int64(bitPattern: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
      case .u8: return Double(raw[offset])
      }
    }
  }

  /// Integer elements of `type`.
  static func integers(_ raw: UnsafeRawBufferPointer, _ type: SafeTensorsDataType) -> [Int] {
    let count = raw.count / type.size
    return (0..<count).map { i in
      switch type {
      case .u8: Int(raw[i])
      case .i32: Int(Int32(bitPattern: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
      default: Int(Int64(bitPattern: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))
      }
    }
  }

  /// `value` rounded to bfloat16 (to nearest, ties to even), as its bit pattern.
  static func bfloat16Bits(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(bits >> 16) | 0x0040 }
    let rounding = 0x7FFF + ((bits >> 16) & 1)
    return UInt16((bits &+ rounding) >> 16)
  }

  /// Appends the little-endian bytes of `value`.
  static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
  }
}
