import Linalg

/// A GGUF file (llama.cpp's model format), memory-mapped and validated.
///
/// Layout (little-endian): `GGUF`, the version (2 or 3), the tensor count and the metadata
/// count (64-bit), the metadata (a length-prefixed key, a value type, the value; arrays carry
/// their element type and count), then each tensor's name, dimension count (1–4), dimensions
/// (innermost first), `ggml_type` and offset; the data section starts at the next multiple of
/// `general.alignment` (default 32), and each tensor's offset is relative to it. Opening checks
/// everything before any tensor is read: magic, version, every count against what the file
/// could hold, string lengths and UTF-8, value types, duplicate keys and tensors, alignment,
/// shapes (whole blocks per row, no overflow), types, offsets (aligned, inside the file) and
/// overlaps. Each violation is its own `GGUFError`.
///
/// Tensors of `GGMLType`'s types come back as `Matrix<Float>`, dequantized exactly as ggml
/// does, or as `WeightMatrix`es in their own formats. Little-endian hosts only.
///
/// ### References
/// The GGUF specification, ggml's `docs/gguf.md`; the `gguf` Python package.
public struct GGUFFile: Sendable {
  /// The format version.
  public let version: UInt32
  /// The metadata by key.
  public let metadata: [String: GGUFValue]
  /// The tensors by name.
  public let tensors: [String: GGUFTensorInfo]
  /// The data section's alignment.
  public let alignment: Int
  let file: FileBytes
  let dataStart: Int

  /// Maps (or, with `access: .read`, reads) and validates the file at `path`.
  public init(contentsOfFile path: String, access: FileAccess = .mapped) throws {
    let file: FileBytes
    do {
      file = try FileBytes(path: path, access: access)
    } catch SafeTensorsError.unreadableFile(let path, let reason) {
      throw GGUFError.unreadableFile(path: path, reason: reason)
    }
    (version, metadata, tensors, alignment, dataStart) = try Self.parse(file.bytes)
    self.file = file
  }

  /// A file from a copy of its `bytes`, validated as a mapped one is.
  public init(bytes: UnsafeRawBufferPointer) throws {
    let file = FileBytes(copying: bytes, path: "(in memory)")
    (version, metadata, tensors, alignment, dataStart) = try Self.parse(file.bytes)
    self.file = file
  }

  /// The tensor names, sorted.
  public var names: [String] { tensors.keys.sorted() }

  /// The deepest nesting of arrays accepted.
  static let maximumArrayDepth = 4

  /// Validates a whole file's bytes.
  ///
  /// - Returns: the version, metadata, tensors, alignment and the offset of the data section.
  public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> (
    version: UInt32, metadata: [String: GGUFValue], tensors: [String: GGUFTensorInfo], alignment: Int,
    dataStart: Int
  ) {
    var reader = Reader(bytes: bytes)
    guard bytes.count >= 4, try reader.u32("magic") == 0x4655_4747 else { throw GGUFError.notGGUF }
    let version = try reader.u32("version")
    guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(version) }
    let tensorCount = try reader.count("tensor count", minimumBytesEach: 24)
    let keyCount = try reader.count("metadata count", minimumBytesEach: 12)
    var metadata: [String: GGUFValue] = [:]
    for _ in 0..<keyCount {
      let key = try reader.string("metadata key")
      let type = try reader.u32("the value type of \"\(key)\"")
      let value = try reader.value(type: type, key: key, depth: 0)
      guard metadata.updateValue(value, forKey: key) == nil else { throw GGUFError.duplicateKey(key) }
    }
    var alignment = 32
    if let given = metadata["general.alignment"] {
      guard let a = given.integer, a > 0, a <= 1 << 20, a & (a - 1) == 0 else {
        throw GGUFError.invalidAlignment("\(given)")
      }
      alignment = a
    }
    var raw: [(name: String, dimensions: [UInt64], type: UInt32, offset: UInt64)] = []
    for _ in 0..<tensorCount {
      let name = try reader.string("tensor name")
      let rank = try reader.u32("the dimension count of \"\(name)\"")
      guard rank >= 1 && rank <= 4 else { throw GGUFError.invalidShape(name: name, shape: []) }
      let dimensions = try (0..<rank).map { _ in try reader.u64("the dimensions of \"\(name)\"") }
      raw.append(
        (
          name, dimensions, try reader.u32("the type of \"\(name)\""),
          try reader.u64("the offset of \"\(name)\"")
        ))
    }
    let (end, overflow) = reader.offset.addingReportingOverflow(alignment - 1)
    guard !overflow else { throw GGUFError.truncated(field: "tensor data", offset: reader.offset) }
    let dataStart = end / alignment * alignment
    var tensors: [String: GGUFTensorInfo] = [:]
    for entry in raw {
      let info = try tensorInfo(entry.name, entry.dimensions, entry.type, entry.offset, alignment: alignment)
      let (last, overflow) = UInt64(dataStart).addingReportingOverflow(UInt64(info.offset + info.byteCount))
      guard !overflow, last <= UInt64(bytes.count) else {
        throw GGUFError.tensorBeyondFile(name: entry.name, end: last, fileSize: bytes.count)
      }
      guard tensors.updateValue(info, forKey: entry.name) == nil else {
        throw GGUFError.duplicateTensor(entry.name)
      }
    }
    let ordered = tensors.sorted { ($0.value.offset, $0.key) < ($1.value.offset, $1.key) }
    for (a, b) in zip(ordered, ordered.dropFirst()) where a.value.offset + a.value.byteCount > b.value.offset
    {
      throw GGUFError.overlappingTensors(a.key, b.key)
    }
    return (version, metadata, tensors, alignment, dataStart)
  }

  /// A tensor's entry, checked: its type known, its dimensions positive with whole blocks per
  /// row and a byte count that does not overflow, its offset aligned.
  static func tensorInfo(
    _ name: String, _ dimensions: [UInt64], _ rawType: UInt32, _ offset: UInt64, alignment: Int
  ) throws -> GGUFTensorInfo {
    guard let type = GGMLType(rawValue: rawType) else {
      throw GGUFError.unsupportedTensorType(
        name: name, type: GGMLType.otherNames[rawType] ?? "type \(rawType)")
    }
    guard dimensions.allSatisfy({ $0 > 0 && $0 <= UInt64(Int32.max) }) else {
      throw GGUFError.invalidShape(name: name, shape: dimensions)
    }
    let sizes = dimensions.map { Int($0) }
    guard sizes[0] % type.blockSize == 0 else {
      throw GGUFError.partialBlock(name: name, columns: sizes[0], blockSize: type.blockSize)
    }
    var bytes = sizes[0] / type.blockSize * type.blockBytes
    for size in sizes.dropFirst() {
      let (product, overflow) = bytes.multipliedReportingOverflow(by: size)
      guard !overflow else { throw GGUFError.invalidShape(name: name, shape: dimensions) }
      bytes = product
    }
    guard offset % UInt64(alignment) == 0, offset <= UInt64(Int.max / 2) else {
      throw GGUFError.misalignedTensor(name: name, offset: offset, alignment: alignment)
    }
    return GGUFTensorInfo(dimensions: sizes, type: type, offset: Int(offset), byteCount: bytes)
  }

  /// The named tensor's bytes, as stored.
  public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
    guard let info = tensors[name] else { throw GGUFError.tensorNotFound(name) }
    return UnsafeRawBufferPointer(
      rebasing: file.bytes[dataStart + info.offset..<dataStart + info.offset + info.byteCount])
  }

  /// The named tensor as a `rows × columns` matrix (a vector as one row), dequantized
  /// exactly as ggml does: `columns` is the innermost dimension; of a 3-D tensor (experts
  /// stacked), the matrix `slice` of the outermost dimension.
  ///
  /// - Throws: `GGUFError.tensorNotFound`, `.unsupportedRank` beyond two dimensions (three
  ///   with a `slice`), `.sliceOutOfRange`.
  public func matrix(_ name: String, slice: Int? = nil) throws -> Matrix<Float> {
    let (info, bytes, rows) = try matrixBytes(name, slice: slice)
    return Self.matrix(info.type, bytes, rows: rows, columns: info.dimensions[0], owner: file)
  }

  /// `rows × columns` elements of `type` in `bytes`, dequantized exactly as ggml does.
  static func matrix(
    _ type: GGMLType, _ bytes: UnsafeRawBufferPointer, rows: Int, columns: Int,
    owner: any AnyObject & Sendable
  ) -> Matrix<Float> {
    guard let format = type.weightFormat else {
      return Matrix(rows: rows, columns: columns, elements: floats(type, bytes))
    }
    return WeightMatrix(ggml: bytes, format: format, rows: rows, columns: columns, owner: owner).dequantized()
  }

  /// The elements of F32 or F16 `bytes` (exact).
  static func floats(_ type: GGMLType, _ bytes: UnsafeRawBufferPointer) -> [Float] {
    type == .f32
      ? (0..<bytes.count / 4).map {
        Float(bitPattern: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))
      }
      : (0..<bytes.count / 2).map {
        Float(Float16(bitPattern: bytes.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))
      }
  }

  /// The named tensor (a matrix `slice` of a 3-D one) as a `WeightMatrix` in its stored
  /// format — bf16, Q4_K, Q5_K, Q6_K and MXFP4 over the mapped bytes, Q8_0 and Q4_0 copied
  /// into MoEKit's q8/q4 (the same numbers) — or `nil` for F32 and F16.
  ///
  /// - Throws: as `matrix(_:slice:)`.
  public func weightMatrix(_ name: String, slice: Int? = nil) throws -> WeightMatrix? {
    let (info, bytes, rows) = try matrixBytes(name, slice: slice)
    guard let format = info.type.weightFormat else { return nil }
    return WeightMatrix(ggml: bytes, format: format, rows: rows, columns: info.dimensions[0], owner: file)
  }

  /// The bytes and row count of the named matrix, or of matrix `slice` of a 3-D tensor.
  func matrixBytes(_ name: String, slice: Int?) throws -> (GGUFTensorInfo, UnsafeRawBufferPointer, rows: Int)
  {
    guard let info = tensors[name] else { throw GGUFError.tensorNotFound(name) }
    let bytes = try rawBytes(name)
    guard let slice else {
      guard info.dimensions.count <= 2 else { throw GGUFError.unsupportedRank(name: name, shape: info.shape) }
      return (info, bytes, info.count / info.dimensions[0])
    }
    guard info.dimensions.count == 3 else { throw GGUFError.unsupportedRank(name: name, shape: info.shape) }
    guard (0..<info.dimensions[2]).contains(slice) else {
      throw GGUFError.sliceOutOfRange(name: name, slice: slice, count: info.dimensions[2])
    }
    let size = info.byteCount / info.dimensions[2]
    return (
      info, UnsafeRawBufferPointer(rebasing: bytes[slice * size..<(slice + 1) * size]), info.dimensions[1]
    )
  }

  /// Little-endian reads that throw `GGUFError.truncated` naming the field at the end of
  /// the bytes.
  struct Reader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    mutating func take(_ n: Int, _ field: String) throws -> UnsafeRawBufferPointer {
      guard n >= 0, n <= bytes.count - offset else { throw GGUFError.truncated(field: field, offset: offset) }
      defer { offset += n }
      return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n])
    }

    mutating func u8(_ field: String) throws -> UInt8 { try take(1, field)[0] }
    mutating func u16(_ field: String) throws -> UInt16 { try take(2, field).loadUnaligned(as: UInt16.self) }
    mutating func u32(_ field: String) throws -> UInt32 { try take(4, field).loadUnaligned(as: UInt32.self) }
    mutating func u64(_ field: String) throws -> UInt64 { try take(8, field).loadUnaligned(as: UInt64.self) }

    /// A count of items that each take at least `minimumBytesEach` bytes, refused when the
    /// rest of the file could not hold them.
    mutating func count(_ field: String, minimumBytesEach: Int) throws -> Int {
      let value = try u64(field)
      guard value <= UInt64(bytes.count - offset) / UInt64(minimumBytesEach) else {
        throw GGUFError.implausibleCount(field: field, value: value)
      }
      return Int(value)
    }

    mutating func string(_ field: String) throws -> String {
      let length = try u64("the length of \(field)")
      guard length <= UInt64(bytes.count - offset) else {
        throw GGUFError.implausibleCount(field: field, value: length)
      }
      guard let s = String(validating: try take(Int(length), field), as: UTF8.self) else {
        throw GGUFError.invalidString(field: field)
      }
      return s
    }

    /// A metadata value of GGUF value type `type`.
    mutating func value(type: UInt32, key: String, depth: Int) throws -> GGUFValue {
      let field = "the value of \"\(key)\""
      switch type {
      case 0: return .unsigned(UInt64(try u8(field)))
      case 1: return .signed(Int64(Int8(bitPattern: try u8(field))))
      case 2: return .unsigned(UInt64(try u16(field)))
      case 3: return .signed(Int64(Int16(bitPattern: try u16(field))))
      case 4: return .unsigned(UInt64(try u32(field)))
      case 5: return .signed(Int64(Int32(bitPattern: try u32(field))))
      case 6: return .float(Double(Float(bitPattern: try u32(field))))
      case 7:
        let byte = try u8(field)
        guard byte <= 1 else { throw GGUFError.unknownValueType(key: key, type: type) }
        return .bool(byte == 1)
      case 8: return .string(try string(field))
      case 9:
        guard depth < GGUFFile.maximumArrayDepth else {
          throw GGUFError.implausibleCount(field: "the array nesting of \"\(key)\"", value: UInt64(depth + 1))
        }
        let elementType = try u32("the element type of \"\(key)\"")
        // The fewest bytes one element of each type takes (a string its length, an array its
        // type and count).
        let sizes: [UInt32: Int] = [
          0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: 8, 9: 12, 10: 8, 11: 8, 12: 8,
        ]
        guard let size = sizes[elementType] else {
          throw GGUFError.unknownValueType(key: key, type: elementType)
        }
        let count = try self.count("the length of \"\(key)\"", minimumBytesEach: size)
        return .array(try (0..<count).map { _ in try value(type: elementType, key: key, depth: depth + 1) })
      case 10: return .unsigned(try u64(field))
      case 11: return .signed(Int64(bitPattern: try u64(field)))
      case 12: return .float(Double(bitPattern: try u64(field)))
      default: throw GGUFError.unknownValueType(key: key, type: type)
      }
    }
  }
}
