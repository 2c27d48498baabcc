/// What is wrong with a safetensors file. Every case names the file, tensor or field at
/// fault; no input, however broken, gets past validation into arithmetic.
public enum SafeTensorsError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file could not be opened, sized or mapped (or written, for the writer).
  case unreadableFile(path: String, reason: String)
  /// Shorter than the 8-byte header length.
  case fileTooSmall(size: Int)
  /// The header length exceeds `SafeTensorsFile.maximumHeaderLength`.
  case headerTooLarge(length: UInt64, limit: Int)
  /// The header length runs past the end of the file.
  case headerBeyondFile(length: UInt64, fileSize: Int)
  /// The header is not valid UTF-8 JSON.
  case invalidHeader(reason: String)
  /// The header's top level is not a JSON object.
  case headerNotAnObject
  /// The header names a tensor twice (JSON parsers keep one of the two silently).
  case duplicateTensor(String)
  /// `__metadata__` is not an object of strings.
  case invalidMetadata
  /// A tensor's entry lacks a field or holds the wrong kind of value.
  case invalidTensorEntry(name: String, problem: String)
  /// A tensor's `dtype` is not one of the known ones.
  case unknownDataType(name: String, dtype: String)
  /// `shape × element size` differs from the byte range.
  case sizeMismatch(name: String, expectedBytes: Int, rangeBytes: Int)
  /// The byte range ends past the data section.
  case offsetsOutOfRange(name: String, end: Int, dataSize: Int)
  /// Two tensors' byte ranges overlap.
  case overlappingTensors(String, String)
  /// The byte ranges leave part of the data section unused (at `offset`).
  case dataNotCovered(offset: Int)
  /// No tensor of that name.
  case tensorNotFound(String)
  /// The tensor is not of a floating-point type.
  case notFloatingPoint(name: String, dtype: String)
  /// The tensor is not of an integer type.
  case notInteger(name: String, dtype: String)
  /// The tensor has more than two dimensions where a matrix was asked for.
  case unsupportedRank(name: String, shape: [Int])

  /// The problem, naming what is at fault.
  public var description: String {
    switch self {
    case .unreadableFile(let path, let reason): "cannot read \(path): \(reason)"
    case .fileTooSmall(let size): "safetensors file of \(size) bytes is shorter than its 8-byte header length"
    case .headerTooLarge(let length, let limit):
      "safetensors header length \(length) exceeds the limit of \(limit) bytes"
    case .headerBeyondFile(let length, let size):
      "safetensors header length \(length) runs past the end of a \(size)-byte file"
    case .invalidHeader(let reason): "safetensors header is not valid UTF-8 JSON: \(reason)"
    case .headerNotAnObject: "safetensors header is not a JSON object"
    case .duplicateTensor(let name): "safetensors header names tensor \"\(name)\" twice"
    case .invalidMetadata: "safetensors __metadata__ must be an object of strings"
    case .invalidTensorEntry(let name, let problem): "tensor \"\(name)\": \(problem)"
    case .unknownDataType(let name, let dtype): "tensor \"\(name)\": unknown dtype \"\(dtype)\""
    case .sizeMismatch(let name, let expected, let actual):
      "tensor \"\(name)\": shape and dtype need \(expected) bytes but data_offsets span \(actual)"
    case .offsetsOutOfRange(let name, let end, let size):
      "tensor \"\(name)\": data ends at \(end), past the \(size)-byte data section"
    case .overlappingTensors(let a, let b): "tensors \"\(a)\" and \"\(b)\" overlap"
    case .dataNotCovered(let offset): "safetensors data section has unused bytes at offset \(offset)"
    case .tensorNotFound(let name): "no tensor named \"\(name)\""
    case .notFloatingPoint(let name, let dtype): "tensor \"\(name)\" is \(dtype), not floating point"
    case .notInteger(let name, let dtype): "tensor \"\(name)\" is \(dtype), not an integer type"
    case .unsupportedRank(let name, let shape):
      "tensor \"\(name)\" has shape \(shape); a matrix needs at most 2 dimensions"
    }
  }
}
