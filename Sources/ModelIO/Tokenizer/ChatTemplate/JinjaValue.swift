import Foundation
import Report

/// A value inside a chat template, with Python's semantics where Jinja borrows them: truth,
/// equality, `str()`, and `json.dumps` for `tojson`. Objects keep their keys' order.
enum JinjaValue {
  case undefined
  case none
  case bool(Bool)
  case int(Int)
  case double(Double)
  case string(String)
  case list([JinjaValue])
  case object([(key: String, value: JinjaValue)])
  case namespace(JinjaNamespace)
  case function(@Sendable ([JinjaValue], [(String, JinjaValue)]) throws -> JinjaValue)

  /// Python's truth.
  var isTrue: Bool {
    switch self {
    case .undefined, .none: false
    case .bool(let b): b
    case .int(let i): i != 0
    case .double(let d): d != 0
    case .string(let s): !s.isEmpty
    case .list(let l): !l.isEmpty
    case .object(let o): !o.isEmpty
    case .namespace, .function: true
    }
  }

  /// The value of `key` in an object or namespace.
  func member(_ key: String) -> JinjaValue? {
    switch self {
    case .object(let pairs): pairs.first { $0.key == key }?.value
    case .namespace(let ns): ns.values[key]
    default: nil
    }
  }

  /// Python's `str()`: how `{{ }}` prints a value (undefined prints nothing).
  var text: String {
    switch self {
    case .undefined: ""
    case .string(let s): s
    default: repr
    }
  }

  /// Python's `repr()`.
  var repr: String {
    switch self {
    case .undefined: ""
    case .none: "None"
    case .bool(let b): b ? "True" : "False"
    case .int(let i): "\(i)"
    case .double(let d): Self.pythonFloat(d)
    case .string(let s):
      "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    case .list(let l): "[" + l.map(\.repr).joined(separator: ", ") + "]"
    case .object(let o): "{" + o.map { "'\($0.key)': \($0.value.repr)" }.joined(separator: ", ") + "}"
    case .namespace: "<Namespace>"
    case .function: "<function>"
    }
  }

  /// A float as Python prints it (`1.0`, `0.5`, `1e-07`).
  static func pythonFloat(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d > 0 ? "inf" : "-inf" }
    if d == d.rounded(), abs(d) < 1e16 { return String(format: "%.1f", d) }
    return "\(d)"
  }

  /// Python's `==`.
  static func equal(_ a: JinjaValue, _ b: JinjaValue) -> Bool {
    switch (a, b) {
    case (.undefined, .undefined), (.none, .none): true
    case (.bool(let x), .bool(let y)): x == y
    case (.string(let x), .string(let y)): x == y
    case (.list(let x), .list(let y)): x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
    case (.object(let x), .object(let y)):
      x.count == y.count
        && x.allSatisfy { pair in y.contains { $0.key == pair.key && equal($0.value, pair.value) } }
    default:
      if let x = a.number, let y = b.number { x == y } else { false }
    }
  }

  /// The value as a number (booleans count as 0 and 1, as in Python).
  var number: Double? {
    switch self {
    case .int(let i): Double(i)
    case .double(let d): d
    case .bool(let b): b ? 1 : 0
    default: nil
    }
  }

  /// `json.dumps(value, ensure_ascii=False, indent=indent)` as `transformers`' `tojson` calls it.
  func json(indent: Int?, level: Int = 0) -> String {
    let (newline, pad, inner) =
      indent.map {
        ("\n", String(repeating: " ", count: $0 * level), String(repeating: " ", count: $0 * (level + 1)))
      }
      ?? ("", "", "")
    let separator = indent == nil ? ", " : ","
    switch self {
    case .undefined, .none: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .int(let i): return "\(i)"
    case .double(let d):
      return d.isFinite ? Self.pythonFloat(d) : (d.isNaN ? "NaN" : d > 0 ? "Infinity" : "-Infinity")
    case .string(let s): return JSON.quoted(s)
    case .list(let l):
      guard !l.isEmpty else { return "[]" }
      return "[" + newline
        + l.map { inner + $0.json(indent: indent, level: level + 1) }.joined(separator: separator + newline)
        + newline + pad + "]"
    case .object(let o):
      guard !o.isEmpty else { return "{}" }
      return "{" + newline
        + o.map { inner + JSON.quoted($0.key) + ": " + $0.value.json(indent: indent, level: level + 1) }
        .joined(separator: separator + newline) + newline + pad + "}"
    case .namespace(let ns):
      return JinjaValue.object(ns.values.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }).json(
        indent: indent, level: level)
    case .function: return "null"
    }
  }

  /// What a value is called in an error message.
  var kind: String {
    switch self {
    case .undefined: "an undefined value"
    case .none: "None"
    case .bool: "a boolean"
    case .int: "an integer"
    case .double: "a float"
    case .string: "a string"
    case .list: "a list"
    case .object: "a mapping"
    case .namespace: "a namespace"
    case .function: "a function"
    }
  }

  /// A conversation value from Foundation JSON-like values (strings, numbers, booleans,
  /// arrays, and dictionaries, their keys sorted).
  init(_ any: Any?) {
    switch any {
    case nil, is NSNull: self = .none
    case let b as Bool: self = .bool(b)
    case let i as Int: self = .int(i)
    case let d as Double: self = .double(d)
    case let s as String: self = .string(s)
    case let l as [Any]: self = .list(l.map { JinjaValue($0) })
    case let d as [String: Any]: self = .object(d.keys.sorted().map { ($0, JinjaValue(d[$0])) })
    default: self = .string("\(any!)")
    }
  }
}

/// `namespace(...)`: the one mutable object a template has (`{% set ns.key = … %}`).
final class JinjaNamespace {
  var values: [String: JinjaValue]
  init(_ values: [String: JinjaValue]) { self.values = values }
}
