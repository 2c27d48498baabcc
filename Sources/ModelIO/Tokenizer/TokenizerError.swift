/// Why a `tokenizer.json` could not be used; every case names the part at fault.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file could not be read.
  case unreadableFile(path: String, reason: String)
  /// The bytes are not a JSON object.
  case invalidJSON(reason: String)
  /// A required part is missing or of the wrong kind (`model.vocab`, `model.merges`, …).
  case malformed(part: String, problem: String)
  /// A component MoEKit does not implement (rather than tokenising differently in silence).
  case unsupported(part: String, value: String, supported: String)
  /// A merge names a token the vocabulary lacks.
  case unknownMergeToken(merge: String)
  /// Text holds a symbol with no token and the model has no `unk_token`.
  case untokenizable(symbol: String)
  /// An id to decode is not in the vocabulary.
  case unknownId(Int)

  /// The problem, in one line.
  public var description: String {
    switch self {
    case .unreadableFile(let path, let reason): "cannot read tokenizer \(path): \(reason)"
    case .invalidJSON(let reason): "tokenizer.json is not a JSON object: \(reason)"
    case .malformed(let part, let problem): "tokenizer.json \(part): \(problem)"
    case .unsupported(let part, let value, let supported):
      "tokenizer.json \(part) \"\(value)\" is not supported (supported: \(supported))"
    case .unknownMergeToken(let merge): "tokenizer.json merge \"\(merge)\" makes a token the vocabulary lacks"
    case .untokenizable(let symbol): "no token for \"\(symbol)\" and no unk_token"
    case .unknownId(let id): "token id \(id) is not in the vocabulary"
    }
  }
}
