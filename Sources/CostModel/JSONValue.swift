import Foundation

/// A parsed JSON value (RFC 8259), strictly typed: a number is never read as a boolean or the
/// other way round.
///
/// `JSONValue.parse` is MoEKit's one JSON reader for files from outside (configs, tokenizers,
/// safetensors headers, checkpoint indexes). An object that names a key twice is refused with
/// the key: Python's `json` (and so `transformers`) keeps the last value and Foundation's
/// decoder the first, so either choice would silently disagree with one of them.
public enum JSONValue: Sendable, Equatable {
  /// `null`.
  case null
  /// `true` or `false`.
  case bool(Bool)
  /// Any number.
  case number(Double)
  /// A string.
  case string(String)
  /// An array.
  case array([JSONValue])
  /// An object.
  case object([String: JSONValue])

  /// Why bytes are not one JSON value.
  public enum ParseError: Error, Equatable, CustomStringConvertible {
    /// The text breaks the grammar at byte `offset`.
    case invalid(offset: Int, problem: String)
    /// An object names `key` twice (the second time at byte `offset`).
    case duplicateKey(String, offset: Int)
    /// Arrays and objects nest deeper than `JSONValue.maximumDepth`.
    case tooDeep(offset: Int)

    /// The problem and where it is.
    public var description: String {
      switch self {
      case .invalid(let offset, let problem): "\(problem) at byte \(offset)"
      case .duplicateKey(let key, let offset):
        "key \"\(key)\" appears twice in one object (again at byte \(offset)); keep one"
      case .tooDeep(let offset): "nested deeper than \(JSONValue.maximumDepth) levels at byte \(offset)"
      }
    }
  }

  /// The deepest nesting `parse` accepts (the parser recurses once per level).
  public static let maximumDepth = 512

  /// The one JSON value `data` holds, with only whitespace around it.
  ///
  /// - Throws: `ParseError`.
  public static func parse(_ data: Data) throws(ParseError) -> JSONValue {
    let bytes = [UInt8](data)
    var parser = Parser(bytes: bytes)
    let value = try parser.value(depth: 0)
    parser.skipWhitespace()
    guard parser.index == bytes.count else { throw parser.error("text after the value") }
    return value
  }

  /// A recursive-descent reader over the bytes.
  struct Parser {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func error(_ problem: String) -> ParseError { .invalid(offset: index, problem: problem) }

    mutating func skipWhitespace() {
      while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    mutating func value(depth: Int) throws(ParseError) -> JSONValue {
      skipWhitespace()
      guard index < bytes.count else { throw error("unexpected end of text") }
      switch bytes[index] {
      case UInt8(ascii: "{"): return try object(depth: depth + 1)
      case UInt8(ascii: "["): return try array(depth: depth + 1)
      case UInt8(ascii: "\""): return .string(try string())
      case UInt8(ascii: "t"): return try literal("true", .bool(true))
      case UInt8(ascii: "f"): return try literal("false", .bool(false))
      case UInt8(ascii: "n"): return try literal("null", .null)
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
      default: throw error("unexpected character")
      }
    }

    mutating func literal(_ word: String, _ value: JSONValue) throws(ParseError) -> JSONValue {
      let expected = Array(word.utf8)
      guard bytes.count - index >= expected.count, Array(bytes[index..<index + expected.count]) == expected
      else { throw error("expected \(word)") }
      index += expected.count
      return value
    }

    mutating func object(depth: Int) throws(ParseError) -> JSONValue {
      guard depth <= JSONValue.maximumDepth else { throw .tooDeep(offset: index) }
      index += 1
      var fields: [String: JSONValue] = [:]
      skipWhitespace()
      if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
        index += 1
        return .object(fields)
      }
      while true {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a key") }
        let keyOffset = index
        let key = try string()
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
        index += 1
        let value = try value(depth: depth)
        guard fields.updateValue(value, forKey: key) == nil else {
          throw .duplicateKey(key, offset: keyOffset)
        }
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of text in an object") }
        if bytes[index] == UInt8(ascii: ",") {
          index += 1
        } else if bytes[index] == UInt8(ascii: "}") {
          index += 1
          return .object(fields)
        } else {
          throw error("expected ',' or '}'")
        }
      }
    }

    mutating func array(depth: Int) throws(ParseError) -> JSONValue {
      guard depth <= JSONValue.maximumDepth else { throw .tooDeep(offset: index) }
      index += 1
      var elements: [JSONValue] = []
      skipWhitespace()
      if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
        index += 1
        return .array(elements)
      }
      while true {
        elements.append(try value(depth: depth))
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of text in an array") }
        if bytes[index] == UInt8(ascii: ",") {
          index += 1
        } else if bytes[index] == UInt8(ascii: "]") {
          index += 1
          return .array(elements)
        } else {
          throw error("expected ',' or ']'")
        }
      }
    }

    /// A number by the grammar `-? int frac? exp?`, converted by `strtod`'s rules.
    mutating func number() throws(ParseError) -> Double {
      let start = index
      func digits() -> Int {
        let from = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
          index += 1
        }
        return index - from
      }
      if bytes[index] == UInt8(ascii: "-") { index += 1 }
      let leadingZero = index < bytes.count && bytes[index] == UInt8(ascii: "0")
      let integer = digits()
      let malformed = ParseError.invalid(offset: start, problem: "malformed number")
      guard integer > 0, !(leadingZero && integer > 1) else { throw malformed }
      if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
        index += 1
        guard digits() > 0 else { throw malformed }
      }
      if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
        index += 1
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
          index += 1
        }
        guard digits() > 0 else { throw malformed }
      }
      guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)) else { throw malformed }
      return value
    }

    /// A string's contents, escapes resolved (`\uXXXX` pairs joined into one scalar).
    mutating func string() throws(ParseError) -> String {
      index += 1
      var scalars = String.UnicodeScalarView()
      var run = index  // the start of unescaped bytes not yet copied
      func flush(upTo end: Int) throws(ParseError) {
        guard run < end else { return }
        guard let text = String(validating: bytes[run..<end], as: UTF8.self) else {
          throw .invalid(offset: run, problem: "a string is not UTF-8")
        }
        scalars.append(contentsOf: text.unicodeScalars)
      }
      while true {
        guard index < bytes.count else { throw error("unterminated string") }
        let byte = bytes[index]
        if byte == UInt8(ascii: "\"") {
          try flush(upTo: index)
          index += 1
          return String(scalars)
        }
        guard byte >= 0x20 else { throw error("a control character in a string") }
        guard byte == UInt8(ascii: "\\") else {
          index += 1
          continue
        }
        try flush(upTo: index)
        index += 1
        guard index < bytes.count else { throw error("unterminated escape") }
        let escape = bytes[index]
        index += 1
        switch escape {
        case UInt8(ascii: "\""): scalars.append("\"")
        case UInt8(ascii: "\\"): scalars.append("\\")
        case UInt8(ascii: "/"): scalars.append("/")
        case UInt8(ascii: "b"): scalars.append("\u{08}")
        case UInt8(ascii: "f"): scalars.append("\u{0C}")
        case UInt8(ascii: "n"): scalars.append("\n")
        case UInt8(ascii: "r"): scalars.append("\r")
        case UInt8(ascii: "t"): scalars.append("\t")
        case UInt8(ascii: "u"):
          var code = try hex4()
          if (0xD800..<0xDC00).contains(code) {
            guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"),
              bytes[index + 1] == UInt8(ascii: "u")
            else { throw error("a lone high surrogate") }
            index += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else {
              throw error("a high surrogate without its low half")
            }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
          }
          guard let scalar = Unicode.Scalar(code) else { throw error("a lone low surrogate") }
          scalars.append(scalar)
        default: throw error("unknown escape")
        }
        run = index
      }
    }

    mutating func hex4() throws(ParseError) -> UInt32 {
      guard bytes.count - index >= 4 else { throw error("a \\u escape needs four hex digits") }
      var code: UInt32 = 0
      for _ in 0..<4 {
        guard let digit = Self.hexDigit(bytes[index]) else {
          throw error("a \\u escape needs four hex digits")
        }
        code = code << 4 | digit
        index += 1
      }
      return code
    }

    static func hexDigit(_ byte: UInt8) -> UInt32? {
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
      default: nil
      }
    }
  }
}
