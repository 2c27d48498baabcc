/// What is wrong with a GGUF file. Every case names the field, key or tensor at fault; no
/// input, however broken, gets past validation into arithmetic.
public enum GGUFError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file could not be opened, sized or mapped.
  case unreadableFile(path: String, reason: String)
  /// The first four bytes are not `GGUF`.
  case notGGUF
  /// A version other than 2 or 3.
  case unsupportedVersion(UInt32)
  /// The file ends inside `field` (at byte `offset`).
  case truncated(field: String, offset: Int)
  /// A count or length larger than the file could hold.
  case implausibleCount(field: String, value: UInt64)
  /// A string is not UTF-8.
  case invalidString(field: String)
  /// An unknown metadata value type.
  case unknownValueType(key: String, type: UInt32)
  /// A metadata key appears twice.
  case duplicateKey(String)
  /// A tensor name appears twice.
  case duplicateTensor(String)
  /// `general.alignment` is not a power of two (or not a whole number).
  case invalidAlignment(String)
  /// A tensor's dimensions are not 1 to 4 positive sizes, or overflow.
  case invalidShape(name: String, shape: [UInt64])
  /// A tensor's type is one MoEKit does not read (named as ggml names it).
  case unsupportedTensorType(name: String, type: String)
  /// A tensor's first dimension is not a whole number of its type's blocks.
  case partialBlock(name: String, columns: Int, blockSize: Int)
  /// A tensor's offset is not a multiple of the alignment.
  case misalignedTensor(name: String, offset: UInt64, alignment: Int)
  /// A tensor's bytes run past the end of the file.
  case tensorBeyondFile(name: String, end: UInt64, fileSize: Int)
  /// Two tensors' bytes overlap.
  case overlappingTensors(String, String)
  /// No tensor of that name.
  case tensorNotFound(String)
  /// The tensor has more than two dimensions where a matrix was asked for.
  case unsupportedRank(name: String, shape: [Int])
  /// A matrix asked of a 3-D tensor beyond its outermost dimension.
  case sliceOutOfRange(name: String, slice: Int, count: Int)
  /// `general.architecture` names an architecture MoEKit does not map onto a family.
  case unsupportedArchitecture(String, supported: [String])
  /// A metadata key a model needs is missing, or holds another kind of value.
  case missingMetadata(key: String, expected: String)
  /// A metadata value or tensor that MoEKit does not load yet (named, with what it supports).
  case unsupportedModelFeature(String, supported: String)

  /// The problem, in one line.
  public var description: String {
    switch self {
    case .unreadableFile(let path, let reason): "cannot read GGUF file \(path): \(reason)"
    case .notGGUF: "not a GGUF file (its first bytes are not \"GGUF\")"
    case .unsupportedVersion(let v): "GGUF version \(v) is not supported (supported: 2, 3)"
    case .truncated(let field, let offset): "GGUF file ends inside \(field) (byte \(offset))"
    case .implausibleCount(let field, let value): "GGUF \(field) \(value) is larger than the file could hold"
    case .invalidString(let field): "GGUF \(field) is not UTF-8"
    case .unknownValueType(let key, let type): "GGUF metadata \"\(key)\" has unknown value type \(type)"
    case .duplicateKey(let key): "GGUF metadata key \"\(key)\" appears twice"
    case .duplicateTensor(let name): "GGUF tensor \"\(name)\" appears twice"
    case .invalidAlignment(let value): "GGUF general.alignment \(value) is not a power of two"
    case .invalidShape(let name, let shape):
      "GGUF tensor \"\(name)\" has shape \(shape): need 1 to 4 positive sizes"
    case .unsupportedTensorType(let name, let type):
      "GGUF tensor \"\(name)\" is \(type), which MoEKit does not read (supported: \(GGMLType.allCases.map(\.name).joined(separator: ", ")))"
    case .partialBlock(let name, let columns, let blockSize):
      "GGUF tensor \"\(name)\" rows of \(columns) are not whole blocks of \(blockSize)"
    case .misalignedTensor(let name, let offset, let alignment):
      "GGUF tensor \"\(name)\" at offset \(offset) is not aligned to \(alignment)"
    case .tensorBeyondFile(let name, let end, let size):
      "GGUF tensor \"\(name)\" ends at \(end), past the file's \(size) bytes"
    case .overlappingTensors(let a, let b): "GGUF tensors \"\(a)\" and \"\(b)\" overlap"
    case .tensorNotFound(let name): "no tensor \"\(name)\" in the GGUF file"
    case .unsupportedRank(let name, let shape): "GGUF tensor \"\(name)\" of shape \(shape) is not a matrix"
    case .unsupportedArchitecture(let name, let supported):
      "GGUF architecture \"\(name)\" is not one MoEKit loads (supported: \(supported.joined(separator: ", ")))"
    case .missingMetadata(let key, let expected):
      "GGUF metadata \"\(key)\" is missing or not \(expected)"
    case .unsupportedModelFeature(let feature, let supported):
      "GGUF model: \(feature) is not supported (supported: \(supported))"
    case .sliceOutOfRange(let name, let slice, let count):
      "GGUF tensor \"\(name)\" holds \(count) matrices; there is no matrix \(slice)"
    }
  }
}
