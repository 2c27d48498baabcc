/// Why a Hugging Face `config.json` could not be turned into an `Architecture`. Every case
/// names the field (or file) at fault.
public enum ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file could not be read.
  case unreadableFile(path: String, reason: String)
  /// The bytes are not valid JSON.
  case invalidJSON(reason: String)
  /// The JSON's top level is not an object.
  case notAnObject
  /// A required field is absent (or `null`).
  case missingField(String)
  /// A field holds the wrong kind of value.
  case wrongType(field: String, expected: String)
  /// A field's value is outside what the model allows.
  case outOfRange(field: String, value: String, requirement: String)
  /// Fields that are each valid but do not fit together.
  case inconsistent(fields: [String], reason: String)
  /// `model_type` names a model this importer does not know.
  case unsupportedModelType(String, architectures: [String], supported: [String])

  /// The problem, naming the field.
  public var description: String {
    switch self {
    case .unreadableFile(let path, let reason): "cannot read \(path): \(reason)"
    case .invalidJSON(let reason): "config is not valid JSON: \(reason)"
    case .notAnObject: "config must be a JSON object at the top level"
    case .missingField(let field): "config lacks the required field \"\(field)\""
    case .wrongType(let field, let expected): "config field \"\(field)\" must be \(expected)"
    case .outOfRange(let field, let value, let requirement):
      "config field \"\(field)\" is \(value), but it must be \(requirement)"
    case .inconsistent(let fields, let reason):
      "config fields \(fields.map { "\"\($0)\"" }.joined(separator: ", ")) do not fit together: \(reason)"
    case .unsupportedModelType(let type, let architectures, let supported):
      "model_type \"\(type)\"\(architectures.isEmpty ? "" : " (architectures \(architectures.joined(separator: ", ")))") is not supported; supported: \(supported.joined(separator: ", "))"
    }
  }
}
