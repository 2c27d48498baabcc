/// Why a reference-logits file (`ReferenceLogits`) could not be read or written.
public enum ReferenceLogitsError: Error, Equatable, CustomStringConvertible {
  /// The file cannot be read.
  case unreadable(path: String, reason: String)
  /// The file cannot be written.
  case unwritable(path: String, reason: String)
  /// The bytes are not a reference file MoEKit wrote, or contradict themselves.
  case malformed(path: String, reason: String)

  /// The problem, naming the file.
  public var description: String {
    switch self {
    case .unreadable(let path, let reason): "cannot read the reference logits \(path): \(reason)"
    case .unwritable(let path, let reason): "cannot write the reference logits \(path): \(reason)"
    case .malformed(let path, let reason): "\(path) is not a usable reference-logits file: \(reason)"
    }
  }
}
