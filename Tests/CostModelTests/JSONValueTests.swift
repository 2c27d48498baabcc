import CostModel
import Foundation
import Testing

/// MoEKit's JSON reader: RFC 8259 values, escapes and numbers as Python's `json` reads them,
/// a repeated key refused by name, and every malformed text an error with its byte offset.
@Suite struct JSONValueTests {
  func parse(_ text: String) throws(JSONValue.ParseError) -> JSONValue {
    try JSONValue.parse(Data(text.utf8))
  }

  @Test func readsEveryKindOfValue() throws {
    let value = try parse(
      #" { "a": [1, -2.5e3, 0, 0.125, true, false, null], "b": {"c": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"} } "#
    )
    #expect(
      value
        == .object([
          "a": .array([
            .number(1), .number(-2500), .number(0), .number(0.125), .bool(true), .bool(false), .null,
          ]),
          "b": .object(["c": .string("x\"\\/\u{08}\u{0C}\n\r\té😀")]),
        ]))
    #expect(try parse("[]") == .array([]) && parse("{}") == .object([:]) && parse(#""""#) == .string(""))
    #expect(try parse("\"naïve 🚀\"") == .string("naïve 🚀"))
    #expect(try parse("1e400") == .number(.infinity), "overflow reads as Python's float() does")
  }

  /// Python keeps a repeated key's last value and Foundation its first: refused, named.
  @Test func aRepeatedKeyIsRefusedByName() {
    #expect(throws: JSONValue.ParseError.duplicateKey("hidden_size", offset: 19)) {
      try parse(#"{"hidden_size": 8, "hidden_size": 16}"#)
    }
    #expect(throws: JSONValue.ParseError.duplicateKey("k", offset: 15)) {
      try parse(#"{"a": {"k": 1, "k": 2}}"#)
    }
    #expect(throws: Never.self) { try parse(#"{"a": {"k": 1}, "b": {"k": 2}}"#) }
  }

  @Test(arguments: [
    ("", 0), ("{", 1), ("[1,]", 3), ("[1 2]", 3), ("01", 0), ("-", 0), ("1.", 0), ("1e", 0), ("+1", 0),
    ("tru", 0), ("\"abc", 4), ("\"a\u{01}\"", 2), (#""\x""#, 3), (#""\ud800""#, 7), (#""\udc00""#, 7),
    (#""\u12g4""#, 5), ("{1: 2}", 1), (#"{"a" 1}"#, 5), ("[1] x", 4), ("NaN", 0),
  ])
  func malformedTextNamesItsOffset(_ text: String, _ offset: Int) {
    do {
      _ = try parse(text)
      Issue.record("\(text) parsed")
    } catch .invalid(let at, _) {
      #expect(at == offset, "\(text)")
    } catch {
      Issue.record("\(text): \(error)")
    }
  }

  @Test func nestingIsBounded() {
    let deep = String(repeating: "[", count: JSONValue.maximumDepth + 1)
    #expect(throws: JSONValue.ParseError.tooDeep(offset: JSONValue.maximumDepth)) { try parse(deep) }
    let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
    #expect(throws: Never.self) { try parse(fine) }
  }

  /// A config that names a field twice is refused naming the field (transformers would take the
  /// second value, Foundation's decoder the first).
  @Test func aConfigWithARepeatedFieldIsRefused() {
    let json = Data(#"{"model_type": "mixtral", "num_local_experts": 8, "num_local_experts": 4}"#.utf8)
    #expect(throws: ConfigError.self) { try ConfigFields(json: json) }
    do {
      _ = try ConfigFields(json: json)
    } catch {
      #expect("\(error)".contains("\"num_local_experts\" appears twice"), "\(error)")
    }
  }
}
