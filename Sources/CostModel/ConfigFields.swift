import Foundation

/// Typed, validating access to the fields of a Hugging Face `config.json` object: every
/// accessor throws a `ConfigError` naming the field when it is missing, mistyped or out of
/// range.
public struct ConfigFields: Sendable {
  /// The raw fields.
  public let fields: [String: JSONValue]

  /// The fields of an already parsed object.
  public init(fields: [String: JSONValue]) { self.fields = fields }

  /// Parses `json`, which must hold a JSON object.
  ///
  /// - Throws: `ConfigError.invalidJSON` or `.notAnObject`.
  public init(json: Data) throws {
    let value: JSONValue
    do {
      value = try JSONDecoder().decode(JSONValue.self, from: json)
    } catch {
      throw ConfigError.invalidJSON(reason: HuggingFaceConfig.reason(error))
    }
    guard case .object(let fields) = value else { throw ConfigError.notAnObject }
    self.fields = fields
  }

  /// Whether `key` is present and not `null`.
  public func has(_ key: String) -> Bool {
    if case .some(let value) = fields[key], value != .null { return true }
    return false
  }

  /// A whole number at least `minimum`; `fallback` when absent or `null`.
  public func int(_ key: String, minimum: Int = 1, fallback: Int? = nil) throws -> Int {
    guard let value = fields[key], value != .null else {
      if let fallback { return fallback }
      throw ConfigError.missingField(key)
    }
    guard case .number(let x) = value, x.rounded() == x, abs(x) < 1e15 else {
      throw ConfigError.wrongType(field: key, expected: "a whole number")
    }
    let n = Int(x)
    guard n >= minimum else {
      throw ConfigError.outOfRange(field: key, value: "\(n)", requirement: "at least \(minimum)")
    }
    return n
  }

  /// A whole number, or `nil` when absent or `null`.
  public func optionalInt(_ key: String, minimum: Int = 1) throws -> Int? {
    has(key) ? try int(key, minimum: minimum) : nil
  }

  /// A boolean; `fallback` when absent or `null`.
  public func bool(_ key: String, fallback: Bool) throws -> Bool {
    guard let value = fields[key], value != .null else { return fallback }
    guard case .bool(let b) = value else {
      throw ConfigError.wrongType(field: key, expected: "true or false")
    }
    return b
  }

  /// An array of whole numbers in `0..<bound`; empty when absent or `null`.
  public func indices(_ key: String, below bound: Int) throws -> [Int] {
    guard let value = fields[key], value != .null else { return [] }
    guard case .array(let items) = value else {
      throw ConfigError.wrongType(field: key, expected: "an array of layer indices")
    }
    return try items.map { item in
      guard case .number(let x) = item, x.rounded() == x, x >= 0, x < Double(bound) else {
        throw ConfigError.outOfRange(
          field: key, value: "\(item)", requirement: "layer indices in 0..<\(bound)")
      }
      return Int(x)
    }
  }

  /// A finite number; `fallback` when absent or `null`.
  public func double(_ key: String, fallback: Double) throws -> Double {
    guard let value = fields[key], value != .null else { return fallback }
    guard case .number(let x) = value, x.isFinite else {
      throw ConfigError.wrongType(field: key, expected: "a number")
    }
    return x
  }

  /// A string, or `nil` when absent.
  public func string(_ key: String) throws -> String? {
    guard let value = fields[key], value != .null else { return nil }
    guard case .string(let s) = value else { throw ConfigError.wrongType(field: key, expected: "a string") }
    return s
  }
}
