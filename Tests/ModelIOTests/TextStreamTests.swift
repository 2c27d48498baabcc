import Foundation
import Testing

@testable import ModelIO

/// Streaming text token by token: the pieces add up to `decode` of the whole, whatever the
/// characters — combining accents, flags and emoji whose bytes span tokens.
@Suite struct TextStreamTests {
  @Test func piecesAddUpToTheWholeText() throws {
    let tokenizer = try BPETokenizer(contentsOfFile: Fixtures.path("tokenizers/gpt2.json"))
    for text in [
      "cafe\u{301} au lait", "🇫🇷 and 🇩🇪 flags", "emoji 👩‍👩‍👧 family, 😀 face", "a\u{300}\u{301}\u{302} stack",
      "plain ascii", "日本語のテキスト",
    ] {
      let ids = try tokenizer.encode(text)
      var stream = TextStream(tokenizer: tokenizer)
      var pieces: [String] = []
      for id in ids { pieces.append(try stream.append(id)) }
      pieces.append(stream.finish())
      #expect(pieces.joined() == text, "\(text)")
      #expect(!pieces.joined().contains("\u{FFFD}"))
    }
  }

  /// A sequence cut anywhere is held back until whole; a broken one is not held for ever.
  @Test func incompleteSequencesAreHeldBack() {
    let euro: [UInt8] = [0xE2, 0x82, 0xAC]
    #expect(TextStream.completePrefix([0x61] + euro.prefix(1)) == 1)
    #expect(TextStream.completePrefix([0x61] + euro.prefix(2)) == 1)
    #expect(TextStream.completePrefix([0x61] + euro) == 4)
    #expect(TextStream.completePrefix([0xF0, 0x9F, 0x98]) == 0)
    #expect(TextStream.completePrefix([0xF0, 0x9F, 0x98, 0x80]) == 4)
    #expect(TextStream.completePrefix([0x80, 0x80, 0x80, 0x80]) == 4, "stray continuation bytes pass")
  }
}
