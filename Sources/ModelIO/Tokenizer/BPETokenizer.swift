import CostModel
import Foundation

/// The BPE tokenizers of Hugging Face's `tokenizers` library, read from a `tokenizer.json`, of
/// the two kinds MoE checkpoints ship:
///
/// - **Byte-level** (GPT-2, Llama 3, Qwen, DeepSeek, OLMoE): a `ByteLevel` pre-tokenizer, alone
///   or after `Split` regexes (behaviour `Isolated` or `Removed`) — GPT-2's regex when
///   `use_regex`, a leading space when `add_prefix_space` — maps every piece's UTF-8 bytes to
///   printable characters (GPT-2's byte-to-unicode table: bytes `!`…`~`, `¡`…`¬`, `®`…`ÿ` stand
///   for themselves, the other 68 for U+0100 onwards, in byte order) before BPE; the
///   `ByteLevel` decoder maps them back.
/// - **Byte-fallback** (SentencePiece converted: Llama 2, Mistral, Mixtral): BPE over Unicode
///   scalars, spaces written `▁` — by the normalizers `Prepend("▁")` and `Replace(" ", "▁")`
///   (Llama 2), or the `Metaspace` pre-tokenizer (`prepend_scheme` `always`, `first` or
///   `never`, `split` on `▁` or not) — and a scalar with no token spelled as its UTF-8 bytes'
///   tokens `<0x00>`…`<0xFF>` (`byte_fallback`), else the unknown token (consecutive ones fused
///   with `fuse_unk`). The decoder `Sequence` of `Replace("▁", " ")`, `ByteFallback`, `Fuse` and
///   `Strip(" ", n, 0)`, or `Metaspace`, turns them back.
///
/// Encoding: the text is split around the added tokens (matched literally, longest first),
/// each remaining span is normalised (Unicode forms `NFC`/`NFD`/`NFKC`/`NFKD`, `Prepend`,
/// `Replace` of a string, in sequence), pre-tokenized, and every piece merged by BPE:
/// repeatedly join the adjacent pair of lowest merge rank (`ignore_merges`: a piece that is
/// already a vocabulary entry is taken whole). A `TemplateProcessing` post-processor's
/// single-sequence template adds its special tokens when `addSpecialTokens` is asked.
/// Decoding reads the bytes as UTF-8 (invalid sequences become U+FFFD). Any other component is
/// refused by name rather than tokenised differently in silence.
///
/// ### References
/// Sennrich et al. 2016, "Neural Machine Translation of Rare Words with Subword Units";
/// Radford et al. 2019 (GPT-2's byte-level BPE); Kudo & Richardson 2018, "SentencePiece";
/// the `tokenizers` JSON format.
public struct BPETokenizer: Sendable {
  /// Token → id, added tokens included.
  public let vocabulary: [String: Int]
  /// Id → token.
  let tokens: [Int: String]
  /// Pair "a b" → rank.
  let ranks: [String: Int]
  /// The added tokens, longest first, with whether each is special.
  let added: [(content: String, id: Int, special: Bool)]
  let normalizers: [Normalizer]
  let splits: [(regex: NSRegularExpression, removed: Bool)]
  /// The `ByteLevel` pre-tokenizer's settings, or `nil` for a byte-fallback tokenizer.
  let byteLevel: (regex: Bool, prefixSpace: Bool)?
  /// The `Metaspace` pre-tokenizer's settings, if it has one.
  let metaspace: Metaspace?
  let ignoreMerges: Bool
  let unknownId: Int?
  /// Whether a scalar without a token is spelled by its bytes' `<0xXX>` tokens.
  let byteFallback: Bool
  /// Whether consecutive unknown tokens become one.
  let fuseUnknown: Bool
  /// How tokens become bytes again.
  let decoding: Decoding
  /// Ids the post-processor puts before and after a sequence.
  let template: (prefix: [Int], suffix: [Int])

  /// One step of the normalizer.
  enum Normalizer: Equatable {
    case unicode(Form)
    /// Prepends the string to a non-empty span.
    case prepend(String)
    /// Replaces every occurrence of the first string by the second.
    case replace(String, String)
  }

  /// A Unicode normalization form.
  enum Form: String {
    case nfc = "NFC"
    case nfd = "NFD"
    case nfkc = "NFKC"
    case nfkd = "NFKD"
  }

  /// The `Metaspace` pre-tokenizer: spaces become `replacement`, which is prepended to every
  /// span (`always`), the text's first (`first`) or none (`never`), and pieces split before it.
  struct Metaspace {
    var replacement: String
    var prependScheme: String
    var split: Bool
  }

  /// How a token's text becomes bytes.
  enum Decoding {
    /// The byte-level alphabet back to bytes.
    case byteLevel
    /// `replacement` back to a space, `<0xXX>` tokens to their byte when `byteFallback`, and up
    /// to `strip` spaces removed from the start of the text.
    case pieces(replacement: String?, byteFallback: Bool, strip: Int)
  }

  /// GPT-2's pre-tokenizer pattern (the `ByteLevel` pre-tokenizer's `use_regex`).
  static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

  /// Reads the `tokenizer.json` at `path`.
  public init(contentsOfFile path: String) throws {
    let data: Data
    do {
      data = try InputFile.contents(of: path, limit: 1 << 30)
    } catch {
      throw TokenizerError.unreadableFile(path: path, reason: "\(error)")
    }
    try self.init(json: data)
  }

  /// Reads a `tokenizer.json` held in `json`.
  public init(json: Data) throws {
    let parsed: JSONValue
    do {
      parsed = try JSONValue.parse(json)
    } catch {
      throw TokenizerError.invalidJSON(reason: "\(error)")
    }
    guard case .object(let top) = parsed else {
      throw TokenizerError.invalidJSON(reason: "it is not an object")
    }
    guard case .object(let model)? = top["model"] else {
      throw TokenizerError.malformed(part: "model", problem: "missing or not an object")
    }
    let type = Self.string(model["type"]) ?? "BPE"
    guard type == "BPE" else {
      throw TokenizerError.unsupported(part: "model.type", value: type, supported: "BPE")
    }
    for (key, value) in [
      ("continuing_subword_prefix", model["continuing_subword_prefix"]),
      ("end_of_word_suffix", model["end_of_word_suffix"]),
    ] {
      if let s = Self.string(value), !s.isEmpty {
        throw TokenizerError.unsupported(part: "model.\(key)", value: s, supported: "none")
      }
    }
    byteFallback = model["byte_fallback"] == .bool(true)
    fuseUnknown = model["fuse_unk"] == .bool(true)
    guard case .object(let vocab)? = model["vocab"] else {
      throw TokenizerError.malformed(part: "model.vocab", problem: "missing or not an object")
    }
    var vocabulary: [String: Int] = [:]
    for (token, value) in vocab {
      guard case .number(let x) = value, x >= 0, x < 16_777_216, x.rounded() == x else {
        throw TokenizerError.malformed(part: "model.vocab", problem: "\"\(token)\" has no whole-number id")
      }
      vocabulary[token] = Int(x)
    }
    var added: [(String, Int, Bool)] = []
    if case .array(let entries)? = top["added_tokens"] {
      for entry in entries {
        guard case .object(let fields) = entry, let content = Self.string(fields["content"]),
          !content.isEmpty,
          case .number(let x)? = fields["id"], x >= 0, x < 16_777_216, x.rounded() == x
        else { throw TokenizerError.malformed(part: "added_tokens", problem: "an entry lacks content or id") }
        let special = fields["special"] == .bool(true)
        added.append((content, Int(x), special))
        vocabulary[content] = Int(x)
      }
    }
    self.vocabulary = vocabulary
    var tokens: [Int: String] = [:]
    for (token, id) in vocabulary { tokens[id] = token }
    self.tokens = tokens
    self.added = added.sorted { $0.0.count > $1.0.count }.map { (content: $0.0, id: $0.1, special: $0.2) }

    var ranks: [String: Int] = [:]
    guard case .array(let merges)? = model["merges"] else {
      throw TokenizerError.malformed(part: "model.merges", problem: "missing or not an array")
    }
    for (rank, merge) in merges.enumerated() {
      let pair: (String, String)
      switch merge {
      case .string(let s):
        let parts = s.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
          throw TokenizerError.malformed(part: "model.merges", problem: "\"\(s)\" is not a pair")
        }
        pair = (String(parts[0]), String(parts[1]))
      case .array(let items) where items.count == 2:
        guard let a = Self.string(items[0]), let b = Self.string(items[1]) else {
          throw TokenizerError.malformed(
            part: "model.merges", problem: "entry \(rank) is not a pair of strings")
        }
        pair = (a, b)
      default:
        throw TokenizerError.malformed(part: "model.merges", problem: "entry \(rank) is not a pair")
      }
      guard vocabulary[pair.0 + pair.1] != nil else {
        throw TokenizerError.unknownMergeToken(merge: "\(pair.0) \(pair.1)")
      }
      ranks[pair.0 + " " + pair.1] = ranks[pair.0 + " " + pair.1] ?? rank
    }
    self.ranks = ranks
    ignoreMerges = model["ignore_merges"] == .bool(true)
    unknownId = Self.string(model["unk_token"]).flatMap { vocabulary[$0] }

    normalizers = try Self.normalizers(top["normalizer"] ?? .null)
    var splits: [(NSRegularExpression, Bool)] = []
    var byteLevel: (regex: Bool, prefixSpace: Bool)?
    var metaspace: Metaspace?
    try Self.preTokenizers(
      top["pre_tokenizer"] ?? .null, splits: &splits, byteLevel: &byteLevel, metaspace: &metaspace)
    self.splits = splits.map { (regex: $0.0, removed: $0.1) }
    self.byteLevel = byteLevel
    self.metaspace = metaspace
    decoding = try Self.decoding(top["decoder"] ?? .null, byteLevel: byteLevel != nil)
    if byteLevel == nil {
      guard byteFallback || unknownId != nil else {
        throw TokenizerError.unsupported(
          part: "pre_tokenizer", value: "neither ByteLevel nor a byte-fallback or unk_token model",
          supported: "a ByteLevel pre-tokenizer, or BPE with byte_fallback (SentencePiece-converted)")
      }
    }
    template = try Self.template(top["post_processor"] ?? .null, vocabulary: vocabulary)
  }

  /// The number of ids (one more than the largest).
  public var vocabularySize: Int { (tokens.keys.max() ?? -1) + 1 }

  /// The id of `token`, if it is in the vocabulary.
  public func id(of token: String) -> Int? { vocabulary[token] }

  /// The ids of `text`; `addSpecialTokens` applies the post-processor's template (a
  /// leading BOS, say), as `tokenizer(text)` does in `transformers`.
  public func encode(_ text: String, addSpecialTokens: Bool = false) throws -> [Int] {
    var ids: [Int] = addSpecialTokens ? template.prefix : []
    var cache: [String: [Int]] = [:]
    for (span, addedId) in splitOnAdded(text) {
      if let addedId {
        ids.append(addedId)
        continue
      }
      for piece in preTokenize(normalized(span), first: span.startIndex == text.startIndex) {
        if let known = cache[piece] {
          ids += known
        } else {
          let merged = try bpe(piece)
          cache[piece] = merged
          ids += merged
        }
      }
    }
    if addSpecialTokens { ids += template.suffix }
    return ids
  }

  /// The text of `ids`, leaving out special added tokens when `skipSpecialTokens`.
  public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) throws -> String {
    String(decoding: try bytes(of: ids, skipSpecialTokens: skipSpecialTokens), as: UTF8.self)
  }

  /// The bytes `ids` stand for (what `decode` turns into text): each byte-level symbol as
  /// its byte, an added token's text as UTF-8. A token may end inside a character.
  ///
  /// - Throws: `TokenizerError.unknownId`.
  public func bytes(of ids: [Int], skipSpecialTokens: Bool = false) throws -> [UInt8] {
    var strip = leadingSpacesToStrip
    return Self.stripping(try continuationBytes(of: ids, skipSpecialTokens: skipSpecialTokens), &strip)
  }

  /// How many spaces the decoder removes from the start of the text.
  var leadingSpacesToStrip: Int {
    if case .pieces(_, _, let strip) = decoding { return strip }
    return 0
  }

  /// `bytes` without up to `strip` leading spaces; `strip` counts down, and stops at the first
  /// other byte.
  static func stripping(_ bytes: [UInt8], _ strip: inout Int) -> [UInt8] {
    var start = 0
    while strip > 0 && start < bytes.count {
      guard bytes[start] == 0x20 else {
        strip = 0
        break
      }
      (start, strip) = (start + 1, strip - 1)
    }
    return Array(bytes[start...])
  }

  /// The bytes `ids` stand for in the middle of a text: as `bytes(of:)`, nothing stripped.
  func continuationBytes(of ids: [Int], skipSpecialTokens: Bool = false) throws -> [UInt8] {
    let special = skipSpecialTokens ? Set(added.filter(\.special).map(\.id)) : []
    var bytes: [UInt8] = []
    for id in ids {
      guard let token = tokens[id] else { throw TokenizerError.unknownId(id) }
      if special.contains(id) { continue }
      switch decoding {
      case .byteLevel:
        for character in token.unicodeScalars {
          if let byte = ByteLevelAlphabet.byte(for: character) {
            bytes.append(byte)
          } else {
            bytes += Array(String(character).utf8)
          }
        }
      case .pieces(let replacement, let byteFallback, _):
        if byteFallback, let byte = Self.fallbackByte(token) {
          bytes.append(byte)
        } else {
          bytes += Array((replacement.map { token.replacingOccurrences(of: $0, with: " ") } ?? token).utf8)
        }
      }
    }
    return bytes
  }

  /// The byte a byte-fallback token `<0xXX>` stands for.
  static func fallbackByte(_ token: String) -> UInt8? {
    guard token.count == 6, token.hasPrefix("<0x"), token.hasSuffix(">") else { return nil }
    return UInt8(token.dropFirst(3).prefix(2), radix: 16)
  }

  // MARK: Pieces

  /// `text` cut into spans of plain text and added tokens (with their ids).
  func splitOnAdded(_ text: String) -> [(Substring, Int?)] {
    guard !added.isEmpty else { return [(text[...], nil)] }
    var spans: [(Substring, Int?)] = []
    var start = text.startIndex
    var i = text.startIndex
    while i < text.endIndex {
      if let match = added.first(where: { text[i...].hasPrefix($0.content) }) {
        if start < i { spans.append((text[start..<i], nil)) }
        let end = text.index(i, offsetBy: match.content.count)
        spans.append((text[i..<end], match.id))
        (i, start) = (end, end)
      } else {
        i = text.index(after: i)
      }
    }
    if start < text.endIndex { spans.append((text[start...], nil)) }
    return spans
  }

  /// A span through the normalizer's steps in order.
  func normalized(_ text: Substring) -> String {
    normalizers.reduce(String(text)) { s, step in
      switch step {
      case .unicode(.nfc): s.precomposedStringWithCanonicalMapping
      case .unicode(.nfd): s.decomposedStringWithCanonicalMapping
      case .unicode(.nfkc): s.precomposedStringWithCompatibilityMapping
      case .unicode(.nfkd): s.decomposedStringWithCompatibilityMapping
      case .prepend(let prefix): s.isEmpty ? s : prefix + s
      case .replace(let pattern, let content): s.replacingOccurrences(of: pattern, with: content)
      }
    }
  }

  /// The pieces of a span (`first`: it starts the text): the Split regexes, then the
  /// ByteLevel step (its own regex, each piece's bytes as characters of the byte alphabet) or
  /// the Metaspace step.
  func preTokenize(_ text: String, first: Bool) -> [String] {
    var pieces = [text]
    for (regex, removed) in splits {
      pieces = pieces.flatMap { Self.split($0, regex, removed: removed) }
    }
    if let byteLevel {
      if byteLevel.prefixSpace, let first = pieces.first, let c = first.first, !c.isWhitespace {
        pieces[0] = " " + first
      }
      if byteLevel.regex {
        pieces = pieces.flatMap { Self.split($0, ByteLevelAlphabet.gpt2, removed: false) }
      }
      return pieces.filter { !$0.isEmpty }.map(ByteLevelAlphabet.encode)
    }
    if let metaspace {
      pieces = pieces.flatMap { piece -> [String] in
        var spaced = piece.replacingOccurrences(of: " ", with: metaspace.replacement)
        let prepend = metaspace.prependScheme == "always" || (metaspace.prependScheme == "first" && first)
        if prepend && !spaced.hasPrefix(metaspace.replacement) { spaced = metaspace.replacement + spaced }
        return metaspace.split ? Self.splitBefore(spaced, metaspace.replacement) : [spaced]
      }
    }
    return pieces.filter { !$0.isEmpty }
  }

  /// `text` cut before every occurrence of `separator`, which starts the piece after it.
  static func splitBefore(_ text: String, _ separator: String) -> [String] {
    var pieces: [String] = []
    var current = ""
    var rest = text[...]
    while !rest.isEmpty {
      if rest.hasPrefix(separator) && !current.isEmpty {
        pieces.append(current)
        current = ""
      }
      if rest.hasPrefix(separator) {
        current += separator
        rest = rest.dropFirst(separator.count)
      } else {
        current.append(rest.removeFirst())
      }
    }
    if !current.isEmpty { pieces.append(current) }
    return pieces
  }

  /// `text` cut at `regex`'s matches, which become pieces of their own (or are dropped
  /// when `removed`), as are the gaps between them.
  static func split(_ text: String, _ regex: NSRegularExpression, removed: Bool) -> [String] {
    let utf16 = text.utf16
    var pieces: [String] = []
    var last = 0
    for match in regex.matches(in: text, range: NSRange(location: 0, length: utf16.count))
    where match.range.length > 0 {
      if match.range.location > last { pieces.append(Self.slice(text, last, match.range.location)) }
      if !removed {
        pieces.append(Self.slice(text, match.range.location, match.range.location + match.range.length))
      }
      last = match.range.location + match.range.length
    }
    if last < utf16.count { pieces.append(Self.slice(text, last, utf16.count)) }
    return pieces
  }

  static func slice(_ text: String, _ from: Int, _ to: Int) -> String {
    let utf16 = text.utf16
    return String(
      utf16[utf16.index(utf16.startIndex, offsetBy: from)..<utf16.index(utf16.startIndex, offsetBy: to)])!
  }

  /// One byte-level piece through BPE.
  func bpe(_ piece: String) throws -> [Int] {
    if ignoreMerges, let id = vocabulary[piece] { return [id] }
    var symbols: [String] = []
    for scalar in piece.unicodeScalars {
      let symbol = String(scalar)
      if vocabulary[symbol] != nil || !byteFallback {
        symbols.append(symbol)
        continue
      }
      let spelled = symbol.utf8.map { String(format: "<0x%02X>", $0) }
      symbols += spelled.allSatisfy { vocabulary[$0] != nil } ? spelled : [symbol]
    }
    while symbols.count > 1 {
      var best: (rank: Int, at: Int)?
      for i in 0..<symbols.count - 1 {
        if let rank = ranks[symbols[i] + " " + symbols[i + 1]], rank < (best?.rank ?? .max) {
          best = (rank, i)
        }
      }
      guard let (_, at) = best else { break }
      let (a, b) = (symbols[at], symbols[at + 1])
      var merged: [String] = []
      var i = 0
      while i < symbols.count {
        if i + 1 < symbols.count && symbols[i] == a && symbols[i + 1] == b {
          merged.append(a + b)
          i += 2
        } else {
          merged.append(symbols[i])
          i += 1
        }
      }
      symbols = merged
    }
    var ids: [Int] = []
    for symbol in symbols {
      if let id = vocabulary[symbol] {
        ids.append(id)
      } else if let unknownId {
        if !(fuseUnknown && ids.last == unknownId) { ids.append(unknownId) }
      } else {
        throw TokenizerError.untokenizable(symbol: symbol)
      }
    }
    return ids
  }

  // MARK: Reading the JSON

  static func string(_ value: JSONValue?) -> String? {
    if case .string(let s)? = value { return s }
    return nil
  }

  /// The normalizer's steps: a Unicode form, `Prepend`, `Replace` of a string, or a
  /// `Sequence` of them.
  static func normalizers(_ value: JSONValue) throws -> [Normalizer] {
    guard value != .null else { return [] }
    guard case .object(let fields) = value, let type = string(fields["type"]) else {
      throw TokenizerError.malformed(part: "normalizer", problem: "not an object with a type")
    }
    switch type {
    case "Sequence":
      guard case .array(let steps)? = fields["normalizers"] else {
        throw TokenizerError.malformed(part: "normalizer", problem: "a Sequence needs \"normalizers\"")
      }
      return try steps.flatMap(normalizers)
    case "Prepend":
      guard let prefix = string(fields["prepend"]) else {
        throw TokenizerError.malformed(part: "normalizer.Prepend", problem: "needs \"prepend\"")
      }
      return [.prepend(prefix)]
    case "Replace":
      return [
        .replace(try stringPattern(fields, part: "normalizer.Replace"), string(fields["content"]) ?? "")
      ]
    default:
      guard let form = Form(rawValue: type) else {
        throw TokenizerError.unsupported(
          part: "normalizer", value: type, supported: "NFC, NFD, NFKC, NFKD, Prepend, Replace, Sequence")
      }
      return [.unicode(form)]
    }
  }

  /// A `Replace` step's pattern, which must be a plain string.
  static func stringPattern(_ fields: [String: JSONValue], part: String) throws -> String {
    guard case .object(let pattern)? = fields["pattern"], let literal = string(pattern["String"]) else {
      throw TokenizerError.unsupported(
        part: part, value: "a pattern other than a String", supported: "String")
    }
    return literal
  }

  /// The decoder: `ByteLevel` for a byte-level tokenizer; otherwise `Metaspace`, or a
  /// `Sequence` of `Replace` (of a string by a space), `ByteFallback`, `Fuse` and then
  /// `Strip` of leading spaces.
  static func decoding(_ value: JSONValue, byteLevel: Bool) throws -> Decoding {
    let supported = byteLevel ? "ByteLevel" : "Metaspace, or a Sequence of Replace, ByteFallback, Fuse, Strip"
    guard value != .null else {
      return byteLevel ? .byteLevel : .pieces(replacement: nil, byteFallback: false, strip: 0)
    }
    guard case .object(let fields) = value, let type = string(fields["type"]) else {
      throw TokenizerError.malformed(part: "decoder", problem: "not an object with a type")
    }
    switch (type, byteLevel) {
    case ("ByteLevel", true): return .byteLevel
    case ("Metaspace", false):
      let scheme = string(fields["prepend_scheme"]) ?? "always"
      return .pieces(
        replacement: string(fields["replacement"]) ?? "▁", byteFallback: false,
        strip: scheme == "never" ? 0 : 1)
    case ("Sequence", false):
      guard case .array(let steps)? = fields["decoders"] else {
        throw TokenizerError.malformed(part: "decoder", problem: "a Sequence needs \"decoders\"")
      }
      var (replacement, byteFallback, fused, strip): (String?, Bool, Bool, Int) = (nil, false, false, 0)
      for step in steps {
        guard case .object(let step) = step, let kind = string(step["type"]) else {
          throw TokenizerError.malformed(part: "decoder", problem: "a step is not an object with a type")
        }
        switch kind {
        case "Replace" where replacement == nil && string(step["content"]) == " ":
          replacement = try stringPattern(step, part: "decoder.Replace")
        case "ByteFallback": byteFallback = true
        case "Fuse": fused = true
        case "Strip" where fused && string(step["content"]) == " " && step["stop"] == .number(0):
          guard case .number(let n)? = step["start"], n >= 0, n < 1024, n.rounded() == n else {
            throw TokenizerError.malformed(
              part: "decoder.Strip", problem: "start is not a small whole number")
          }
          strip = Int(n)
        default:
          throw TokenizerError.unsupported(part: "decoder", value: kind, supported: supported)
        }
      }
      return .pieces(replacement: replacement, byteFallback: byteFallback, strip: strip)
    default:
      throw TokenizerError.unsupported(part: "decoder", value: type, supported: supported)
    }
  }

  /// The pre-tokenizer: `Split` steps, then one `ByteLevel` or `Metaspace` step (or neither,
  /// `null`), alone or in a `Sequence`.
  static func preTokenizers(
    _ value: JSONValue, splits: inout [(NSRegularExpression, Bool)],
    byteLevel: inout (regex: Bool, prefixSpace: Bool)?, metaspace: inout Metaspace?
  ) throws {
    guard value != .null else { return }
    guard case .object(let fields) = value, let type = string(fields["type"]) else {
      throw TokenizerError.malformed(part: "pre_tokenizer", problem: "not an object with a type")
    }
    switch type {
    case "Sequence":
      guard case .array(let steps)? = fields["pretokenizers"] else {
        throw TokenizerError.malformed(part: "pre_tokenizer", problem: "a Sequence needs \"pretokenizers\"")
      }
      for step in steps {
        try preTokenizers(step, splits: &splits, byteLevel: &byteLevel, metaspace: &metaspace)
      }
    case "ByteLevel":
      guard byteLevel == nil, metaspace == nil else {
        throw TokenizerError.unsupported(
          part: "pre_tokenizer", value: "a second ByteLevel or Metaspace step", supported: "one")
      }
      byteLevel = (fields["use_regex"] != .bool(false), fields["add_prefix_space"] == .bool(true))
    case "Metaspace":
      guard byteLevel == nil, metaspace == nil else {
        throw TokenizerError.unsupported(
          part: "pre_tokenizer", value: "a second ByteLevel or Metaspace step", supported: "one")
      }
      let scheme =
        string(fields["prepend_scheme"]) ?? (fields["add_prefix_space"] == .bool(false) ? "never" : "always")
      guard ["always", "first", "never"].contains(scheme) else {
        throw TokenizerError.unsupported(
          part: "pre_tokenizer.Metaspace.prepend_scheme", value: scheme, supported: "always, first, never")
      }
      metaspace = Metaspace(
        replacement: string(fields["replacement"]) ?? "▁", prependScheme: scheme,
        split: fields["split"] != .bool(false))
    case "Split":
      guard byteLevel == nil, metaspace == nil else {
        throw TokenizerError.unsupported(
          part: "pre_tokenizer", value: "Split after ByteLevel", supported: "Split first")
      }
      guard case .object(let pattern)? = fields["pattern"] else {
        throw TokenizerError.malformed(part: "pre_tokenizer.Split", problem: "needs a pattern")
      }
      let source: String
      if let regex = string(pattern["Regex"]) {
        source = regex
      } else if let literal = string(pattern["String"]) {
        source = NSRegularExpression.escapedPattern(for: literal)
      } else {
        throw TokenizerError.malformed(part: "pre_tokenizer.Split", problem: "pattern needs Regex or String")
      }
      let behavior = string(fields["behavior"]) ?? "Isolated"
      guard behavior == "Isolated" || behavior == "Removed", fields["invert"] != .bool(true) else {
        throw TokenizerError.unsupported(
          part: "pre_tokenizer.Split.behavior", value: behavior, supported: "Isolated, Removed (not inverted)"
        )
      }
      do {
        splits.append((try NSRegularExpression(pattern: source), behavior == "Removed"))
      } catch {
        throw TokenizerError.malformed(part: "pre_tokenizer.Split", problem: "the regex does not compile")
      }
    default:
      throw TokenizerError.unsupported(
        part: "pre_tokenizer", value: type, supported: "ByteLevel, Metaspace, Split, Sequence")
    }
  }

  static func template(_ value: JSONValue, vocabulary: [String: Int]) throws -> (prefix: [Int], suffix: [Int])
  {
    guard case .object(let fields) = value, let type = string(fields["type"]) else { return ([], []) }
    if type == "Sequence", case .array(let steps)? = fields["processors"] {
      let parts = try steps.map { try template($0, vocabulary: vocabulary) }
      return (parts.flatMap(\.prefix), parts.flatMap(\.suffix))
    }
    guard type == "TemplateProcessing" else {
      guard type == "ByteLevel" else {
        throw TokenizerError.unsupported(
          part: "post_processor", value: type, supported: "ByteLevel, TemplateProcessing")
      }
      return ([], [])
    }
    guard case .array(let single)? = fields["single"] else {
      throw TokenizerError.malformed(part: "post_processor", problem: "TemplateProcessing needs \"single\"")
    }
    var (prefix, suffix, seenSequence) = ([Int](), [Int](), false)
    for item in single {
      guard case .object(let piece) = item else { continue }
      if piece["Sequence"] != nil {
        seenSequence = true
      } else if case .object(let special)? = piece["SpecialToken"], let name = string(special["id"]) {
        var ids: [Int] = []
        if case .object(let specials)? = fields["special_tokens"], case .object(let entry)? = specials[name],
          case .array(let listed)? = entry["ids"]
        {
          ids = try listed.map { value in
            guard case .number(let x) = value, x >= 0, x < 16_777_216, x.rounded() == x else {
              throw TokenizerError.malformed(
                part: "post_processor",
                problem: "special token \"\(name)\" has id \(value), not a whole number in 0..<2^24")
            }
            return Int(x)
          }
        } else if let id = vocabulary[name] {
          ids = [id]
        } else {
          throw TokenizerError.malformed(
            part: "post_processor", problem: "special token \"\(name)\" has no id")
        }
        if seenSequence { suffix += ids } else { prefix += ids }
      }
    }
    return (prefix, suffix)
  }
}
