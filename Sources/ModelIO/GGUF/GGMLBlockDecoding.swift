/// Decoding of ggml's block layouts (see `GGMLType`) to `Float`, element for element what
/// the reference implementation computes: every product and difference in `Float`, in the
/// reference's order, so that the results are bit-identical.
enum GGMLBlockDecoding {
  /// The `count` elements (a whole number of blocks) of `type` at the start of `bytes`.
  static func decode(_ type: GGMLType, _ bytes: UnsafeRawBufferPointer, count: Int) -> [Float] {
    var out = [Float](repeating: 0, count: count)
    let blocks = count / type.blockSize
    out.withUnsafeMutableBufferPointer { out in
      for b in 0..<blocks {
        let block = UnsafeRawBufferPointer(rebasing: bytes[b * type.blockBytes..<(b + 1) * type.blockBytes])
        let target = UnsafeMutableBufferPointer(rebasing: out[b * type.blockSize..<(b + 1) * type.blockSize])
        decodeBlock(type, block, into: target)
      }
    }
    return out
  }

  static func half(_ block: UnsafeRawBufferPointer, at offset: Int) -> Float {
    Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
  }

  /// Q4_K's and Q5_K's eight 6-bit scales and minimums from their 12 bytes at `offset`.
  static func scalesAndMinimums(_ block: UnsafeRawBufferPointer, at offset: Int) -> ([Float], [Float]) {
    let s = (0..<12).map { block[offset + $0] }
    var (scales, minimums) = ([Float](repeating: 0, count: 8), [Float](repeating: 0, count: 8))
    for j in 0..<4 {
      scales[j] = Float(s[j] & 0x3F)
      minimums[j] = Float(s[4 + j] & 0x3F)
      scales[4 + j] = Float((s[8 + j] & 0x0F) | ((s[j] >> 2) & 0x30))
      minimums[4 + j] = Float((s[8 + j] >> 4) | ((s[4 + j] >> 2) & 0x30))
    }
    return (scales, minimums)
  }

  /// FP4 (E2M1) codes as twice their value, and MXFP4's E8M0 exponent as half its scale, so
  /// that `scale · value` is one product of exact numbers.
  static let fp4Doubled: [Float] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]

  static func e8m0Half(_ e: UInt8) -> Float {
    Float(bitPattern: e < 2 ? UInt32(0x0020_0000) << UInt32(e) : UInt32(e - 1) << 23)
  }

  static func decodeBlock(
    _ type: GGMLType, _ block: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Float>
  ) {
    switch type {
    case .f32:
      out[0] = Float(bitPattern: block.loadUnaligned(as: UInt32.self))
    case .f16:
      out[0] = half(block, at: 0)
    case .bf16:
      out[0] = Float(bitPattern: UInt32(block.loadUnaligned(as: UInt16.self)) << 16)
    case .q8_0:
      let d = half(block, at: 0)
      for i in 0..<32 { out[i] = Float(Int8(bitPattern: block[2 + i])) * d }
    case .q4_0:
      let d = half(block, at: 0)
      for j in 0..<16 {
        let byte = block[2 + j]
        out[j] = d * Float(Int8(byte & 0x0F) - 8)
        out[j + 16] = d * Float(Int8(byte >> 4) - 8)
      }
    case .q4_K, .q5_K:
      let (d, dmin) = (half(block, at: 0), half(block, at: 2))
      let (scales, minimums) = scalesAndMinimums(block, at: 4)
      let five = type == .q5_K
      let low = five ? 48 : 16  // where the 4-bit quants start
      for s in 0..<8 {
        let (scale, minimum) = (d * scales[s], dmin * minimums[s])
        for i in 0..<32 {
          var q = (block[low + (s / 2) * 32 + i] >> (4 * UInt8(s % 2))) & 0x0F
          if five { q |= ((block[16 + i] >> UInt8(s)) & 1) << 4 }
          out[s * 32 + i] = scale * Float(q) - minimum
        }
      }
    case .q6_K:
      let d = half(block, at: 208)
      for e in 0..<256 {
        let (h, r) = (e / 128, e % 128)
        let low = (block[h * 64 + r % 64] >> (4 * UInt8(r / 64))) & 0x0F
        let high = (block[128 + h * 32 + r % 32] >> (2 * UInt8(r / 32))) & 0x03
        let scale = Float(Int8(bitPattern: block[192 + e / 16]))
        out[e] = (d * scale) * Float(Int8(low | (high << 4)) - 32)
      }
    case .mxfp4:
      let d = e8m0Half(block[0])
      for j in 0..<16 {
        out[j] = d * fp4Doubled[Int(block[1 + j] & 0x0F)]
        out[j + 16] = d * fp4Doubled[Int(block[1 + j] >> 4)]
      }
    }
  }
}
