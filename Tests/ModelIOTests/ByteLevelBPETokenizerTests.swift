import Foundation
import ModelIO
import Testing

/// Tokenizers trained by the `tokenizers` library (scripts/make-model-fixtures.py) must
/// give its ids on every line of the corpus — source code, Unicode, emoji, whitespace
/// runs, digits, added tokens inside text — and decode back to the same text.
@Suite struct ByteLevelBPETokenizerTests {
  struct Case: Decodable {
    var text: String
    var ids: [Int]
  }

  static let kinds = ["gpt2", "split-regex"]

  static func load(_ kind: String) throws -> (ByteLevelBPETokenizer, [Case]) {
    let tokenizer = try ByteLevelBPETokenizer(contentsOfFile: Fixtures.path("tokenizers/\(kind).json"))
    let cases = try JSONDecoder().decode(
      [Case].self,
      from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("tokenizers/\(kind)-cases.json"))))
    return (tokenizer, cases)
  }

  @Test(arguments: kinds) func encodesAsTokenizersDoes(kind: String) throws {
    let (tokenizer, cases) = try Self.load(kind)
    #expect(cases.count > 3000)
    var mismatches: [String] = []
    for c in cases where try tokenizer.encode(c.text) != c.ids { mismatches.append(c.text) }
    #expect(mismatches.isEmpty, "\(kind): \(mismatches.count) lines differ, first \(mismatches.prefix(3))")
  }

  @Test(arguments: kinds) func decodesBackToTheText(kind: String) throws {
    let (tokenizer, cases) = try Self.load(kind)
    for c in cases { #expect(try tokenizer.decode(c.ids) == c.text, "\(kind): \(c.text)") }
  }

  @Test func addedTokensAreMatchedWholeAndSkippable() throws {
    let (tokenizer, _) = try Self.load("gpt2")
    let ids = try tokenizer.encode("a<|endoftext|>b")
    #expect(ids.contains(0) && ids.count == 3)
    #expect(try tokenizer.decode(ids, skipSpecialTokens: true) == "ab")
  }

  @Test func malformedFilesAreNamed() throws {
    func error(_ json: String) -> String {
      do {
        _ = try ByteLevelBPETokenizer(json: Data(json.utf8))
        return "accepted"
      } catch { return "\(error)" }
    }
    #expect(error("[1]").contains("not a JSON object"))
    #expect(error(#"{"model": {"type": "WordPiece"}}"#).contains("model.type \"WordPiece\" is not supported"))
    #expect(error(#"{"model": {"type": "BPE", "merges": []}}"#).contains("model.vocab"))
    let vocab = #""vocab": {"a": 0, "b": 1}"#
    #expect(error(#"{"model": {"type": "BPE", \#(vocab), "merges": ["a b"]}}"#).contains("merge \"a b\""))
    #expect(
      error(#"{"model": {"type": "BPE", \#(vocab), "merges": []}, "pre_tokenizer": {"type": "Whitespace"}}"#)
        .contains("pre_tokenizer \"Whitespace\" is not supported"))
    #expect(
      error(
        #"{"model": {"type": "BPE", \#(vocab), "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}, "normalizer": {"type": "Lowercase"}}"#
      )
      .contains("normalizer \"Lowercase\""))
    #expect(throws: TokenizerError.self) {
      try ByteLevelBPETokenizer(contentsOfFile: "/nonexistent/tokenizer.json")
    }
    let (tokenizer, _) = try Self.load("gpt2")
    #expect(throws: TokenizerError.unknownId(99_999)) { try tokenizer.decode([99_999]) }
  }
}
