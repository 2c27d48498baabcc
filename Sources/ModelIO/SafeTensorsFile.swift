import CostModel
import Foundation
import Linalg

/// One tensor's entry in a safetensors header.
public struct TensorInfo: Sendable, Equatable {
  /// The element type.
  public var dataType: SafeTensorsDataType
  /// The dimensions.
  public var shape: [Int]
  /// Where the bytes are, relative to the start of the data section.
  public var byteRange: Range<Int>

  /// The number of elements, the product of `shape`.
  public var count: Int { shape.reduce(1, *) }
}

/// A safetensors file, memory-mapped and validated.
///
/// Layout: an 8-byte little-endian header length `N`, `N` bytes of UTF-8 JSON mapping each
/// tensor name to `dtype`, `shape` and `data_offsets` (plus an optional `__metadata__`
/// object of strings), then the data section. Opening checks everything before any tensor
/// is read: the header length (at most `maximumHeaderLength`), the JSON, every dtype,
/// that each `shape × element size` equals its byte range, that ranges lie inside the data
/// section, do not overlap and cover it exactly. Each violation is its own
/// `SafeTensorsError`.
///
/// Tensors whose stored type is the one asked for (F32 as `Float`, F64 as `Double`) come
/// back as matrices over the mapped memory without a copy; others (F16, BF16, or F32 as
/// `Double`) are converted. Little-endian hosts only.
///
/// ### References
/// The safetensors format, huggingface/safetensors (README, "Format").
public struct SafeTensorsFile: Sendable {
  /// The largest header accepted: 100 MB, the limit of the reference implementation.
  public static let maximumHeaderLength = 100_000_000

  /// The tensors by name.
  public let tensors: [String: TensorInfo]
  /// The free-form `__metadata__` strings.
  public let metadata: [String: String]
  let file: FileBytes
  let dataStart: Int

  /// Maps (or, with `access: .read`, reads) and validates the file at `path`.
  public init(contentsOfFile path: String, access: FileAccess = .mapped) throws {
    let file = try FileBytes(path: path, access: access)
    (tensors, metadata, dataStart) = try Self.parse(file.bytes)
    self.file = file
  }

  /// The tensor names, sorted.
  public var names: [String] { tensors.keys.sorted() }

  /// Validates a whole file's bytes: the header and every tensor's range.
  ///
  /// - Returns: the tensors, the metadata and the offset of the data section.
  public static func parse(
    _ bytes: UnsafeRawBufferPointer
  ) throws -> (tensors: [String: TensorInfo], metadata: [String: String], dataStart: Int) {
    guard bytes.count >= 8 else { throw SafeTensorsError.fileTooSmall(size: bytes.count) }
    var length: UInt64 = 0
    for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
    guard length <= UInt64(maximumHeaderLength) else {
      throw SafeTensorsError.headerTooLarge(length: length, limit: maximumHeaderLength)
    }
    guard Int(length) <= bytes.count - 8 else {
      throw SafeTensorsError.headerBeyondFile(length: length, fileSize: bytes.count)
    }
    let header = Data(bytes[8..<8 + Int(length)])
    let value: JSONValue
    do {
      value = try JSONValue.parse(header)
    } catch .duplicateKey(let key, _) {
      throw SafeTensorsError.duplicateTensor(key)
    } catch {
      throw SafeTensorsError.invalidHeader(reason: "\(error)".prefix(200).description)
    }
    guard case .object(let entries) = value else { throw SafeTensorsError.headerNotAnObject }
    let dataStart = 8 + Int(length)
    let dataSize = bytes.count - dataStart
    var tensors: [String: TensorInfo] = [:]
    var metadata: [String: String] = [:]
    for (name, entry) in entries {
      if name == "__metadata__" {
        guard case .object(let fields) = entry else { throw SafeTensorsError.invalidMetadata }
        for (key, value) in fields {
          guard case .string(let text) = value else { throw SafeTensorsError.invalidMetadata }
          metadata[key] = text
        }
        continue
      }
      tensors[name] = try tensorInfo(name, entry, dataSize: dataSize)
    }
    try checkLayout(tensors, dataSize: dataSize)
    return (tensors, metadata, dataStart)
  }

  /// One entry's fields, checked on their own.
  static func tensorInfo(_ name: String, _ entry: JSONValue, dataSize: Int) throws -> TensorInfo {
    func problem(_ text: String) -> SafeTensorsError { .invalidTensorEntry(name: name, problem: text) }
    guard case .object(let fields) = entry else { throw problem("entry is not an object") }
    guard case .string(let dtype)? = fields["dtype"] else {
      throw problem("\"dtype\" is missing or not a string")
    }
    guard let dataType = SafeTensorsDataType(rawValue: dtype) else {
      throw SafeTensorsError.unknownDataType(name: name, dtype: dtype)
    }
    func wholeNumbers(_ key: String) throws -> [Int] {
      guard case .array(let items)? = fields[key] else {
        throw problem("\"\(key)\" is missing or not an array")
      }
      return try items.map { item in
        guard case .number(let x) = item, x >= 0, x.rounded() == x, x < 9e15 else {
          throw problem("\"\(key)\" holds \(item), not a non-negative whole number")
        }
        return Int(x)
      }
    }
    let shape = try wholeNumbers("shape")
    let offsets = try wholeNumbers("data_offsets")
    guard offsets.count == 2, offsets[0] <= offsets[1] else {
      throw problem("\"data_offsets\" must be [begin, end] with begin ≤ end, got \(offsets)")
    }
    var elements = 1
    for dimension in shape {
      let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
      guard !overflow, product < 1 << 50 else { throw problem("shape \(shape) is too large") }
      elements = product
    }
    let expected = elements * dataType.size
    guard expected == offsets[1] - offsets[0] else {
      throw SafeTensorsError.sizeMismatch(
        name: name, expectedBytes: expected, rangeBytes: offsets[1] - offsets[0])
    }
    guard offsets[1] <= dataSize else {
      throw SafeTensorsError.offsetsOutOfRange(name: name, end: offsets[1], dataSize: dataSize)
    }
    return TensorInfo(dataType: dataType, shape: shape, byteRange: offsets[0]..<offsets[1])
  }

  /// Ranges must not overlap and must cover the data section exactly.
  static func checkLayout(_ tensors: [String: TensorInfo], dataSize: Int) throws {
    let ordered = tensors.sorted {
      ($0.value.byteRange.lowerBound, $0.key) < ($1.value.byteRange.lowerBound, $1.key)
    }
    var end = 0
    var previous: String?
    for (name, info) in ordered where !info.byteRange.isEmpty {
      if info.byteRange.lowerBound < end, let previous {
        throw SafeTensorsError.overlappingTensors(previous, name)
      }
      if info.byteRange.lowerBound > end { throw SafeTensorsError.dataNotCovered(offset: end) }
      end = info.byteRange.upperBound
      previous = name
    }
    if end != dataSize { throw SafeTensorsError.dataNotCovered(offset: end) }
  }

  func info(_ name: String) throws -> TensorInfo {
    guard let info = tensors[name] else { throw SafeTensorsError.tensorNotFound(name) }
    return info
  }

  /// The raw bytes of a tensor.
  func bytes(of info: TensorInfo) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(
      rebasing: file.bytes[dataStart + info.byteRange.lowerBound..<dataStart + info.byteRange.upperBound])
  }

  /// A floating-point tensor as a matrix: 2-D tensors keep their shape, 1-D ones become
  /// `1 × n`, scalars `1 × 1`. No copy when the stored type is `Scalar` (F32 for `Float`,
  /// F64 for `Double`) and the data is aligned.
  ///
  /// - Throws: `tensorNotFound`, `notFloatingPoint`, `unsupportedRank`.
  public func matrix<Scalar: BLASScalar>(_ name: String, as: Scalar.Type = Scalar.self) throws -> Matrix<
    Scalar
  > {
    let info = try info(name)
    guard info.dataType.isFloatingPoint else {
      throw SafeTensorsError.notFloatingPoint(name: name, dtype: info.dataType.rawValue)
    }
    let (rows, columns): (Int, Int)
    switch info.shape.count {
    case 0: (rows, columns) = (1, 1)
    case 1: (rows, columns) = (1, info.shape[0])
    case 2: (rows, columns) = (info.shape[0], info.shape[1])
    default: throw SafeTensorsError.unsupportedRank(name: name, shape: info.shape)
    }
    let raw = bytes(of: info)
    let native =
      (info.dataType == .f32 && Scalar.self == Float.self)
      || (info.dataType == .f64 && Scalar.self == Double.self)
    if native, let base = raw.baseAddress, Int(bitPattern: base) % MemoryLayout<Scalar>.alignment == 0 {
      let memory = base.bindMemory(to: Scalar.self, capacity: rows * columns)
      return Matrix(rows: rows, columns: columns, unsafeMemory: memory, owner: file)
    }
    if info.dataType == .bf16 && Scalar.self == Float.self && Int(bitPattern: raw.baseAddress) % 2 == 0 {
      // The vectorised widening (exact), not the element-by-element decoder.
      let widened = WeightMatrix(bf16: raw, rows: rows, columns: columns, owner: file).dequantized()
      return unsafeBitCast(widened, to: Matrix<Scalar>.self)
    }
    return Matrix(
      rows: rows, columns: columns,
      elements: ElementDecoding.floats(raw, info.dataType).map { Scalar($0) })
  }

  /// An integer tensor's elements, flattened in row-major order.
  ///
  /// - Throws: `tensorNotFound`, `notInteger`.
  public func integers(_ name: String) throws -> [Int] {
    let info = try info(name)
    guard !info.dataType.isFloatingPoint else {
      throw SafeTensorsError.notInteger(name: name, dtype: info.dataType.rawValue)
    }
    return ElementDecoding.integers(bytes(of: info), info.dataType)
  }
}
