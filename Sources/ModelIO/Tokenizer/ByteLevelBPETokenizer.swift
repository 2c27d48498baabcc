import CostModel
import Foundation

/// The byte-level BPE tokenizer of GPT-2, Llama 3, Qwen, Mixtral's successors and DeepSeek,
/// read from the `tokenizer.json` of Hugging Face's `tokenizers` library.
///
/// Encoding: the text is split around the added tokens (matched literally, longest
/// first), each remaining span is normalised (`NFC`/`NFD`/`NFKC`/`NFKD` or none), split by
/// the pre-tokenizer — `Split` with its regex (behaviour `Isolated` or `Removed`) and/or
/// `ByteLevel` (GPT-2's regex when `use_regex`, a leading space when `add_prefix_space`) —
/// and every piece's UTF-8 bytes are mapped to printable characters (GPT-2's
/// byte-to-unicode table: bytes `!`…`~`, `¡`…`¬`, `®`…`ÿ` stand for themselves, the other 68
/// for U+0100 onwards, in byte order). Each piece is then merged by BPE: repeatedly join
/// the adjacent pair of lowest merge rank (`ignore_merges`: a piece that is already a
/// vocabulary entry is taken whole). A `TemplateProcessing` post-processor's single-
/// sequence template adds its special tokens when `addSpecialTokens` is asked.
///
/// Decoding maps tokens back through the table to bytes and reads them as UTF-8 (invalid
/// sequences become U+FFFD, as `tokenizers` does).
///
/// ### References
/// Sennrich et al. 2016, "Neural Machine Translation of Rare Words with Subword Units";
/// Radford et al. 2019 (GPT-2's byte-level BPE); the `tokenizers` JSON format.
public struct ByteLevelBPETokenizer: Sendable {
  /// Token → id, added tokens included.
  public let vocabulary: [String: Int]
  /// Id → token.
  let tokens: [Int: String]
  /// Pair "a b" → rank.
  let ranks: [String: Int]
  /// The added tokens, longest first, with whether each is special.
  let added: [(content: String, id: Int, special: Bool)]
  let normalizer: Normalization
  let splits: [(regex: NSRegularExpression, removed: Bool)]
  let byteLevelRegex: Bool
  let addPrefixSpace: Bool
  let ignoreMerges: Bool
  let unknownId: Int?
  /// Ids the post-processor puts before and after a sequence.
  let template: (prefix: [Int], suffix: [Int])

  enum Normalization: String {
    case none
    case nfc = "NFC"
    case nfd = "NFD"
    case nfkc = "NFKC"
    case nfkd = "NFKD"
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
    if case .bool(true)? = model["byte_fallback"] {
      throw TokenizerError.unsupported(part: "model.byte_fallback", value: "true", supported: "false")
    }
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

    normalizer = try Self.normalization(top["normalizer"] ?? .null)
    var splits: [(NSRegularExpression, Bool)] = []
    var byteLevel: (regex: Bool, prefix: Bool)?
    try Self.preTokenizers(top["pre_tokenizer"] ?? .null, splits: &splits, byteLevel: &byteLevel)
    guard let byteLevel else {
      throw TokenizerError.unsupported(
        part: "pre_tokenizer", value: "without ByteLevel",
        supported: "a ByteLevel pre-tokenizer, alone or after Split")
    }
    self.splits = splits.map { (regex: $0.0, removed: $0.1) }
    (byteLevelRegex, addPrefixSpace) = byteLevel
    if let decoder = top["decoder"], decoder != .null {
      guard case .object(let fields) = decoder, Self.string(fields["type"]) == "ByteLevel" else {
        throw TokenizerError.unsupported(part: "decoder", value: "\(decoder)", supported: "ByteLevel")
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
      for piece in preTokenize(normalized(span)) {
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
    let special = skipSpecialTokens ? Set(added.filter(\.special).map(\.id)) : []
    var bytes: [UInt8] = []
    for id in ids {
      guard let token = tokens[id] else { throw TokenizerError.unknownId(id) }
      if special.contains(id) { continue }
      for character in token.unicodeScalars {
        if let byte = ByteLevelAlphabet.byte(for: character) {
          bytes.append(byte)
        } else {
          bytes += Array(String(character).utf8)
        }
      }
    }
    return bytes
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

  func normalized(_ text: Substring) -> String {
    let s = String(text)
    switch normalizer {
    case .none: return s
    case .nfc: return s.precomposedStringWithCanonicalMapping
    case .nfd: return s.decomposedStringWithCanonicalMapping
    case .nfkc: return s.precomposedStringWithCompatibilityMapping
    case .nfkd: return s.decomposedStringWithCompatibilityMapping
    }
  }

  /// The byte-level pieces of a span: the Split regexes, the ByteLevel step's own regex,
  /// then each piece's bytes as characters of the byte alphabet.
  func preTokenize(_ text: String) -> [String] {
    var pieces = [text]
    for (regex, removed) in splits {
      pieces = pieces.flatMap { Self.split($0, regex, removed: removed) }
    }
    if addPrefixSpace, let first = pieces.first, let c = first.first, !c.isWhitespace {
      pieces[0] = " " + first
    }
    if byteLevelRegex { pieces = pieces.flatMap { Self.split($0, ByteLevelAlphabet.gpt2, removed: false) } }
    return pieces.filter { !$0.isEmpty }.map(ByteLevelAlphabet.encode)
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
    var symbols = piece.map(String.init)
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
    return try symbols.map { symbol in
      if let id = vocabulary[symbol] { return id }
      if let unknownId { return unknownId }
      throw TokenizerError.untokenizable(symbol: symbol)
    }
  }

  // MARK: Reading the JSON

  static func string(_ value: JSONValue?) -> String? {
    if case .string(let s)? = value { return s }
    return nil
  }

  static func normalization(_ value: JSONValue) throws -> Normalization {
    guard value != .null else { return .none }
    guard case .object(let fields) = value, let type = string(fields["type"]) else {
      throw TokenizerError.malformed(part: "normalizer", problem: "not an object with a type")
    }
    if type == "Sequence", case .array(let steps)? = fields["normalizers"] {
      let kinds = try steps.map(normalization).filter { $0 != .none }
      guard kinds.count <= 1 else {
        throw TokenizerError.unsupported(
          part: "normalizer", value: "a sequence of several", supported: "at most one Unicode form")
      }
      return kinds.first ?? .none
    }
    guard let kind = Normalization(rawValue: type) else {
      throw TokenizerError.unsupported(part: "normalizer", value: type, supported: "NFC, NFD, NFKC, NFKD")
    }
    return kind
  }

  static func preTokenizers(
    _ value: JSONValue, splits: inout [(NSRegularExpression, Bool)],
    byteLevel: inout (regex: Bool, prefix: Bool)?
  ) throws {
    guard case .object(let fields) = value, let type = string(fields["type"]) else {
      throw TokenizerError.malformed(part: "pre_tokenizer", problem: "missing or not an object with a type")
    }
    switch type {
    case "Sequence":
      guard case .array(let steps)? = fields["pretokenizers"] else {
        throw TokenizerError.malformed(part: "pre_tokenizer", problem: "a Sequence needs \"pretokenizers\"")
      }
      for step in steps { try preTokenizers(step, splits: &splits, byteLevel: &byteLevel) }
    case "ByteLevel":
      guard byteLevel == nil else {
        throw TokenizerError.unsupported(
          part: "pre_tokenizer", value: "two ByteLevel steps", supported: "one")
      }
      byteLevel = (fields["use_regex"] != .bool(false), fields["add_prefix_space"] == .bool(true))
    case "Split":
      guard byteLevel == nil else {
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
        part: "pre_tokenizer", value: type, supported: "ByteLevel, Split, Sequence")
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
