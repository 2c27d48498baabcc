import Foundation
import ModelIO
import Testing

/// Tokenizers trained by the `tokenizers` library (scripts/make-model-fixtures.py) must
/// give its ids on every line of the corpus — source code, Unicode, emoji, whitespace
/// runs, digits, added tokens inside text — and decode them to the text `tokenizers` decodes:
/// byte-level (GPT-2's, and a Split regex before ByteLevel as Llama 3 and Qwen2 have) and
/// SentencePiece-converted with byte fallback (Llama 2's normalizers, Mistral's Metaspace).
@Suite struct BPETokenizerTests {
  struct Case: Decodable {
    var text: String
    var ids: [Int]
    /// What `tokenizers` decodes the ids to.
    var decoded: String
  }

  static let kinds = ["gpt2", "split-regex", "llama2", "metaspace"]

  static func load(_ kind: String) throws -> (BPETokenizer, [Case]) {
    let tokenizer = try BPETokenizer(contentsOfFile: Fixtures.path("tokenizers/\(kind).json"))
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

  @Test(arguments: kinds) func decodesAsTokenizersDoes(kind: String) throws {
    let (tokenizer, cases) = try Self.load(kind)
    for c in cases { #expect(try tokenizer.decode(c.ids) == c.decoded, "\(kind): \(c.text)") }
    // Byte-level and byte-fallback tokenizers lose nothing (Llama 2 drops one leading space and
    // puts one after each added token).
    if kind != "metaspace" {
      let spaced = { (text: String) in
        kind == "llama2" && (text.hasPrefix(" ") || ["<s>", "</s>", "<unk>"].contains { text.contains($0) })
      }
      #expect(cases.allSatisfy { $0.decoded == $0.text || spaced($0.text) })
    }
  }

  /// Scalars outside the trained alphabet are spelled by their UTF-8 bytes' tokens, and a
  /// stream of the tokens gives the decoded text piece by piece.
  @Test(arguments: ["llama2", "metaspace"]) func byteFallbackSpellsUnknownScalars(kind: String) throws {
    let (tokenizer, cases) = try Self.load(kind)
    let ids = try tokenizer.encode("日本語 😀")
    #expect(ids.contains { (tokenizer.id(of: "<0xF0>") ?? -1) == $0 })
    for c in cases.prefix(200) {
      var stream = TextStream(tokenizer: tokenizer)
      let streamed = try c.ids.map { try stream.append($0) }.joined() + stream.finish()
      #expect(streamed == c.decoded, "\(kind): \(c.text)")
    }
    #expect(try tokenizer.encode("hello", addSpecialTokens: true).first == tokenizer.id(of: "<s>"))
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
        _ = try BPETokenizer(json: Data(json.utf8))
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
      try BPETokenizer(contentsOfFile: "/nonexistent/tokenizer.json")
    }
    let (tokenizer, _) = try Self.load("gpt2")
    #expect(throws: TokenizerError.unknownId(99_999)) { try tokenizer.decode([99_999]) }
  }
}
