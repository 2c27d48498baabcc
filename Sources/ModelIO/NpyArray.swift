import CostModel
import Foundation
import Linalg
import Report

/// An array in NumPy's `.npy` format (versions 1.0 and 2.0; little-endian `float32`,
/// `float64` or `int64`; C order), for quick exchange with Python.
///
/// ### References
/// NumPy, "A Simple File Format for NumPy Arrays" (NEP 1, `numpy.lib.format`).
public struct NpyArray: Sendable, Equatable {
  /// The element type.
  public enum DataType: String, Sendable, Equatable {
    /// `<f4`.
    case float32 = "<f4"
    /// `<f8`.
    case float64 = "<f8"
    /// `<i8`.
    case int64 = "<i8"

    /// Bytes per element.
    public var size: Int { self == .float32 ? 4 : 8 }
  }

  /// The element type.
  public var dataType: DataType
  /// The dimensions.
  public var shape: [Int]
  /// The elements' little-endian bytes, row-major.
  public var bytes: [UInt8]

  /// The largest header accepted (NumPy itself refuses more than 10 000 bytes by default).
  public static let maximumHeaderLength = 1 << 20

  /// An array from its parts.
  ///
  /// - Precondition: `bytes` holds exactly `shape` elements.
  public init(dataType: DataType, shape: [Int], bytes: [UInt8]) {
    precondition(
      bytes.count == shape.reduce(1, *) * dataType.size, "NpyArray: \(bytes.count) bytes for shape \(shape)")
    self.dataType = dataType
    self.shape = shape
    self.bytes = bytes
  }

  /// `matrix` as `float32` (for `Float`) or `float64` (for `Double`), shape `[rows, columns]`.
  public init<Scalar: BLASScalar>(_ matrix: Matrix<Scalar>) {
    var bytes: [UInt8] = []
    let single = Scalar.self == Float.self
    for x in matrix.elements {
      if single {
        ElementDecoding.append(Float(x).bitPattern, to: &bytes)
      } else {
        ElementDecoding.append(Double(x).bitPattern, to: &bytes)
      }
    }
    self.init(dataType: single ? .float32 : .float64, shape: [matrix.rows, matrix.columns], bytes: bytes)
  }

  /// `values` as `int64` with `shape`.
  public init(integers values: [Int], shape: [Int]) {
    var bytes: [UInt8] = []
    for v in values { ElementDecoding.append(Int64(v), to: &bytes) }
    self.init(dataType: .int64, shape: shape, bytes: bytes)
  }

  /// The array as a matrix (converting between `float32` and `float64`): 2-D arrays keep
  /// their shape, 1-D become `1 × n`, 0-D `1 × 1`.
  ///
  /// - Throws: `NpyError.wrongKind` for `int64`, `unsupportedRank` beyond 2-D.
  public func matrix<Scalar: BLASScalar>(as: Scalar.Type = Scalar.self) throws -> Matrix<Scalar> {
    guard dataType != .int64 else {
      throw NpyError.wrongKind("an int64 array is not a matrix of \(Scalar.self)")
    }
    let (rows, columns): (Int, Int)
    switch shape.count {
    case 0: (rows, columns) = (1, 1)
    case 1: (rows, columns) = (1, shape[0])
    case 2: (rows, columns) = (shape[0], shape[1])
    default: throw NpyError.unsupportedRank(shape)
    }
    let values = bytes.withUnsafeBytes { ElementDecoding.floats($0, dataType == .float32 ? .f32 : .f64) }
    return Matrix(rows: rows, columns: columns, elements: values.map { Scalar($0) })
  }

  /// The elements of an `int64` array.
  public func integers() throws -> [Int] {
    guard dataType == .int64 else { throw NpyError.wrongKind("a \(dataType.rawValue) array is not integers") }
    return bytes.withUnsafeBytes { ElementDecoding.integers($0, .i64) }
  }

  // MARK: Reading

  /// Reads the `.npy` file at `path`: the file is mapped, its header checked against the
  /// file's size, and only the elements are copied (nothing is read twice, and a header
  /// that promises more than the file holds is refused before any element is read).
  ///
  /// - Throws: `NpyError.unreadableFile` when the path is not a readable regular file, and
  ///   what `init(parsing:)` throws.
  public init(contentsOfFile path: String) throws {
    let file: FileBytes
    do {
      file = try FileBytes(path: path)
    } catch SafeTensorsError.unreadableFile(_, let reason) {
      throw NpyError.unreadableFile(path: path, reason: reason)
    }
    self = try NpyArray(parsing: file.bytes)
  }

  /// Parses a whole `.npy` file's bytes, validating the preamble, the header and the
  /// data's length before reading anything.
  public init(parsing raw: UnsafeRawBufferPointer) throws {
    let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    guard raw.count >= 6 else { throw NpyError.truncated(expected: 10, actual: raw.count) }
    guard Array(raw[0..<6]) == magic else { throw NpyError.notNpy }
    guard raw.count >= 10 else { throw NpyError.truncated(expected: 10, actual: raw.count) }
    let (major, minor) = (Int(raw[6]), Int(raw[7]))
    guard (major == 1 || major == 2) && minor == 0 else {
      throw NpyError.unsupportedVersion(major: major, minor: minor)
    }
    let lengthBytes = major == 1 ? 2 : 4
    guard raw.count >= 8 + lengthBytes else {
      throw NpyError.truncated(expected: 8 + lengthBytes, actual: raw.count)
    }
    var length = 0
    for i in 0..<lengthBytes { length |= Int(raw[8 + i]) << (8 * i) }
    guard length <= Self.maximumHeaderLength else {
      throw NpyError.invalidHeader("length \(length) exceeds \(Self.maximumHeaderLength)")
    }
    let dataStart = 8 + lengthBytes + length
    guard raw.count >= dataStart else { throw NpyError.truncated(expected: dataStart, actual: raw.count) }
    guard let header = String(validating: raw[8 + lengthBytes..<dataStart], as: UTF8.self) else {
      throw NpyError.invalidHeader("not UTF-8")
    }
    let fields = try NpyHeader.parse(header)
    guard let type = DataType(rawValue: fields.descr) else {
      throw NpyError.unsupportedDataType(fields.descr)
    }
    guard !fields.fortranOrder else { throw NpyError.fortranOrder }
    var count = 1
    for d in fields.shape {
      let (product, overflow) = count.multipliedReportingOverflow(by: d)
      guard !overflow, product < 1 << 48 else {
        throw NpyError.invalidHeader("shape \(fields.shape) is too large")
      }
      count = product
    }
    let needed = dataStart + count * type.size
    guard raw.count >= needed else { throw NpyError.truncated(expected: needed, actual: raw.count) }
    self.init(dataType: type, shape: fields.shape, bytes: Array(raw[dataStart..<needed]))
  }

  // MARK: Writing

  /// The file's bytes: version 1.0 (2.0 when the header needs it), header padded with
  /// spaces and a newline so that the data starts at a multiple of 64 bytes.
  public var encoded: [UInt8] {
    let shapeText =
      shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var header = Array(
      "{'descr': '\(dataType.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }".utf8)
    let version1 = header.count + 1 + 10 < 65_536
    let preamble = version1 ? 10 : 12
    while (preamble + header.count + 1) % 64 != 0 { header.append(UInt8(ascii: " ")) }
    header.append(UInt8(ascii: "\n"))
    var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version1 ? 1 : 2, 0]
    if version1 {
      ElementDecoding.append(UInt16(header.count), to: &out)
    } else {
      ElementDecoding.append(UInt32(header.count), to: &out)
    }
    return out + header + bytes
  }

  /// Writes the array to `path` atomically.
  ///
  /// - Throws: `FileWriteError` naming `path`.
  public func write(to path: String) throws {
    try AtomicFile.write(Data(encoded), to: path)
  }
}

/// The `.npy` header: a Python dict literal with `descr`, `fortran_order` and `shape`.
enum NpyHeader {
  static func parse(_ text: String) throws -> (descr: String, fortranOrder: Bool, shape: [Int]) {
    var scanner = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
    func fail(_ why: String) -> NpyError { .invalidHeader(why) }
    guard scanner.first == "{", scanner.last == "}" else { throw fail("not a dictionary") }
    scanner = scanner.dropFirst().dropLast()
    var descr: String?
    var fortran: Bool?
    var shape: [Int]?
    func skipSpaces() { while scanner.first?.isWhitespace == true { scanner.removeFirst() } }
    func quoted() throws -> String {
      skipSpaces()
      guard let q = scanner.first, q == "'" || q == "\"" else { throw fail("expected a quoted string") }
      scanner.removeFirst()
      guard let end = scanner.firstIndex(of: q) else { throw fail("unterminated string") }
      let value = String(scanner[..<end])
      scanner = scanner[scanner.index(after: end)...]
      return value
    }
    while true {
      skipSpaces()
      if scanner.isEmpty { break }
      let key = try quoted()
      skipSpaces()
      guard scanner.first == ":" else { throw fail("expected ':' after '\(key)'") }
      scanner.removeFirst()
      skipSpaces()
      switch key {
      case "descr": descr = try quoted()
      case "fortran_order":
        if scanner.hasPrefix("True") {
          fortran = true
          scanner = scanner.dropFirst(4)
        } else if scanner.hasPrefix("False") {
          fortran = false
          scanner = scanner.dropFirst(5)
        } else {
          throw fail("fortran_order must be True or False")
        }
      case "shape":
        guard scanner.first == "(", let close = scanner.firstIndex(of: ")") else {
          throw fail("shape must be a tuple")
        }
        let items = scanner[scanner.index(after: scanner.startIndex)..<close].split(separator: ",")
          .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        shape = try items.map { item in
          guard let n = Int(item), n >= 0 else {
            throw fail("shape entry '\(item)' is not a non-negative integer")
          }
          return n
        }
        scanner = scanner[scanner.index(after: close)...]
      default: throw fail("unknown key '\(key)'")
      }
      skipSpaces()
      if scanner.first == "," {
        scanner.removeFirst()
      } else {
        skipSpaces()
        guard scanner.isEmpty else { throw fail("expected ','") }
        break
      }
    }
    guard let descr, let fortran, let shape else {
      throw fail("descr, fortran_order and shape are all required")
    }
    return (descr, fortran, shape)
  }
}
