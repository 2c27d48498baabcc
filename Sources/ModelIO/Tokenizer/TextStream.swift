/// Generated tokens turned into text as they come: each `append` returns the text that is
/// complete so far and was not returned before. It works on bytes, not on characters — a
/// token that ends inside a UTF-8 sequence holds that sequence back until the rest arrives,
/// and a token that extends the previous character (a combining accent, the second half of
/// a flag) is returned as soon as its bytes are whole — so the concatenation of everything
/// returned is exactly `decode` of all the tokens, and each token costs only its own bytes.
public struct TextStream {
  /// The tokenizer whose tokens are appended.
  public let tokenizer: BPETokenizer
  /// Bytes of an incomplete UTF-8 sequence at the end, not returned yet.
  private var pending: [UInt8] = []
  /// Leading spaces the decoder still removes (SentencePiece's first `▁`).
  private var strip: Int

  /// A stream over `tokenizer`'s tokens; `continuing` text that follows a prompt keeps the
  /// leading space the decoder removes at the start of a text (SentencePiece's first `▁`).
  public init(tokenizer: BPETokenizer, continuing: Bool = false) {
    self.tokenizer = tokenizer
    self.strip = continuing ? 0 : tokenizer.leadingSpacesToStrip
  }

  /// The text `id` completes.
  ///
  /// - Throws: `TokenizerError.unknownId`.
  public mutating func append(_ id: Int) throws -> String {
    pending += BPETokenizer.stripping(try tokenizer.continuationBytes(of: [id]), &strip)
    let whole = Self.completePrefix(pending)
    defer { pending.removeFirst(whole) }
    return String(decoding: pending[..<whole], as: UTF8.self)
  }

  /// What is still held back (an incomplete sequence at the end), as `decode` would render it.
  public mutating func finish() -> String {
    defer { pending = [] }
    return String(decoding: pending, as: UTF8.self)
  }

  /// The length of the longest prefix of `bytes` that does not end inside a UTF-8 sequence
  /// which later bytes could still complete.
  static func completePrefix(_ bytes: [UInt8]) -> Int {
    // Look back at most 3 bytes for the lead byte of the last sequence.
    var start = bytes.count
    while start > 0 && bytes.count - start < 4 {
      start -= 1
      let byte = bytes[start]
      guard byte & 0xC0 == 0x80 else {  // not a continuation byte
        let length = byte < 0x80 ? 1 : byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
        return bytes.count - start < length && byte >= 0xC0 && byte < 0xF8 ? start : bytes.count
      }
    }
    return bytes.count
  }
}
