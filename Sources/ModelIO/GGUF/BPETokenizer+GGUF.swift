import Foundation

extension BPETokenizer {
  /// The pre-tokenizers of the `tokenizer.ggml.pre` names read: GPT-2's byte-level regex
  /// (`nil`), or a split regex before the byte-level mapping (Llama 3's, Qwen2's).
  static let ggufPreTokenizers: [String: String?] = [
    "gpt-2": nil, "default": nil, "olmo": nil,
    "llama-bpe":
      #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
    "qwen2":
      #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
  ]

  /// The tokenizer a GGUF file's `tokenizer.ggml.*` metadata describe, or `nil` when it holds
  /// none, built as the `tokenizer.json` that describes the same tokenizer, so it encodes as
  /// that file does:
  ///
  /// - `tokenizer.ggml.model` `gpt2`: a byte-level BPE with its tokens, merges and
  ///   pre-tokenizer (`tokenizer.ggml.pre`, see `ggufPreTokenizers`);
  /// - `llama`: SentencePiece's BPE with scores (Llama 2, Mistral, Mixtral) as a byte-fallback
  ///   BPE — spaces written `▁`, one prepended to every span of text unless
  ///   `tokenizer.ggml.add_space_prefix` is false, and the merges ranked by the score of the
  ///   token they make (the highest first), which is the pair SentencePiece and llama.cpp join
  ///   first; scalars without a token spelled by their `<0xXX>` byte tokens.
  ///
  /// Unknown, control and user-defined tokens (types 2, 3 and 4) are added tokens, matched in
  /// text as llama.cpp matches them, the first two special;
  /// `tokenizer.ggml.add_bos_token` (by default true for `llama`, false for `gpt2`) puts
  /// `tokenizer.ggml.bos_token_id` before an encoded text that asks for special tokens.
  ///
  /// - Throws: `GGUFError.unsupportedModelFeature` for another tokenizer model or
  ///   pre-tokenizer, `.missingMetadata` for missing or malformed tokens, types, scores or
  ///   merges, and what `init(json:)` throws.
  public init?(gguf file: GGUFFile) throws {
    let m = file.metadata
    guard let model = m["tokenizer.ggml.model"]?.string, model != "none" else { return nil }
    guard model == "gpt2" || model == "llama" else {
      throw GGUFError.unsupportedModelFeature(
        "tokenizer \"\(model)\"", supported: "gpt2 (byte-level BPE), llama (SentencePiece BPE)")
    }
    func array(_ key: String) throws -> [GGUFValue] {
      guard case .array(let values)? = m[key] else {
        throw GGUFError.missingMetadata(key: key, expected: "an array")
      }
      return values
    }
    let tokens = try array("tokenizer.ggml.tokens").map { value in
      guard let string = value.string else {
        throw GGUFError.missingMetadata(key: "tokenizer.ggml.tokens", expected: "an array of strings")
      }
      return string
    }
    var types = [Int](repeating: 1, count: tokens.count)
    if m["tokenizer.ggml.token_type"] != nil {
      let values = try array("tokenizer.ggml.token_type")
      guard values.count == tokens.count, values.allSatisfy({ $0.integer != nil }) else {
        throw GGUFError.missingMetadata(
          key: "tokenizer.ggml.token_type",
          expected: "one whole number for each of the \(tokens.count) tokens")
      }
      types = values.map { $0.integer! }
    }
    let added = tokens.indices.filter { (2...4).contains(types[$0]) }.map { id -> [String: Any] in
      [
        "id": id, "content": tokens[id], "single_word": false, "lstrip": false, "rstrip": false,
        "normalized": false, "special": types[id] != 4,
      ]
    }
    var json: [String: Any] = [
      "version": "1.0", "added_tokens": added,
      "post_processor": try Self.ggufTemplate(m, tokens: tokens, addsBOS: model == "llama"),
    ]
    if model == "gpt2" {
      try Self.ggufByteLevel(m, tokens: tokens, into: &json)
    } else {
      try Self.ggufSentencePiece(m, tokens: tokens, types: types, into: &json)
    }
    try self.init(json: try JSONSerialization.data(withJSONObject: json))
  }

  /// A `TemplateProcessing` that puts the BOS token first, when `tokenizer.ggml.add_bos_token`
  /// (or `addsBOS` without it) says so.
  static func ggufTemplate(_ m: [String: GGUFValue], tokens: [String], addsBOS: Bool) throws -> Any {
    let adds: Bool
    switch m["tokenizer.ggml.add_bos_token"] {
    case nil: adds = addsBOS
    case .bool(let flag)?: adds = flag
    default: throw GGUFError.missingMetadata(key: "tokenizer.ggml.add_bos_token", expected: "a boolean")
    }
    guard adds else { return NSNull() }
    guard let bos = m["tokenizer.ggml.bos_token_id"]?.integer, tokens.indices.contains(bos) else {
      throw GGUFError.missingMetadata(
        key: "tokenizer.ggml.bos_token_id", expected: "a token id below \(tokens.count)")
    }
    return [
      "type": "TemplateProcessing",
      "single": [
        ["SpecialToken": ["id": tokens[bos], "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
      ],
      "special_tokens": [tokens[bos]: ["id": tokens[bos], "ids": [bos], "tokens": [tokens[bos]]]],
    ] as [String: Any]
  }

  /// The byte-level parts of a `gpt2` tokenizer: pre-tokenizer, decoder, and the BPE model with
  /// the file's merges.
  static func ggufByteLevel(_ m: [String: GGUFValue], tokens: [String], into json: inout [String: Any]) throws
  {
    let pre = m["tokenizer.ggml.pre"]?.string ?? "default"
    guard let pattern = Self.ggufPreTokenizers[pre] else {
      throw GGUFError.unsupportedModelFeature(
        "pre-tokenizer \"\(pre)\"", supported: Self.ggufPreTokenizers.keys.sorted().joined(separator: ", "))
    }
    guard case .array(let values)? = m["tokenizer.ggml.merges"],
      case let merges = values.compactMap(\.string), merges.count == values.count
    else { throw GGUFError.missingMetadata(key: "tokenizer.ggml.merges", expected: "an array of strings") }
    let byteLevel: [String: Any] = [
      "type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": pattern == nil,
    ]
    json["normalizer"] = NSNull()
    json["pre_tokenizer"] =
      pattern.map {
        [
          "type": "Sequence",
          "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": $0], "behavior": "Isolated", "invert": false], byteLevel,
          ],
        ]
      } ?? byteLevel
    json["decoder"] = [
      "type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true,
    ]
    json["model"] =
      [
        "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "fuse_unk": false, "byte_fallback": false,
        "vocab": Dictionary(tokens.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first }),
        "merges": merges.map { $0.split(separator: " ", maxSplits: 1).map(String.init) },
      ] as [String: Any]
  }

  /// The parts of a SentencePiece (`llama`) tokenizer: `▁` for spaces (and a leading one), the
  /// byte-fallback decoder, and the BPE model whose merges are every split of a token into two
  /// tokens, ranked by the made token's score (highest first; ties by its id, then the left
  /// part's).
  static func ggufSentencePiece(
    _ m: [String: GGUFValue], tokens: [String], types: [Int], into json: inout [String: Any]
  ) throws {
    guard case .array(let values)? = m["tokenizer.ggml.scores"], values.count == tokens.count,
      case let scores = values.compactMap(\.number), scores.count == tokens.count
    else {
      throw GGUFError.missingMetadata(
        key: "tokenizer.ggml.scores", expected: "one number for each of the \(tokens.count) tokens")
    }
    let prefixesSpace: Bool
    switch m["tokenizer.ggml.add_space_prefix"] {
    case nil: prefixesSpace = true
    case .bool(let flag)?: prefixesSpace = flag
    default: throw GGUFError.missingMetadata(key: "tokenizer.ggml.add_space_prefix", expected: "a boolean")
    }
    let ids = Dictionary(tokens.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    var merges: [(score: Double, id: Int, left: Int, pair: [String])] = []
    for (id, token) in tokens.enumerated() where types[id] == 1 || types[id] == 4 {
      let scalars = Array(token.unicodeScalars)
      guard scalars.count > 1 else { continue }
      for cut in 1..<scalars.count {
        let left = String(String.UnicodeScalarView(scalars[..<cut]))
        let right = String(String.UnicodeScalarView(scalars[cut...]))
        if let l = ids[left], ids[right] != nil { merges.append((scores[id], id, l, [left, right])) }
      }
    }
    merges.sort { ($0.score, $1.id, $1.left) > ($1.score, $0.id, $0.left) }
    let unknown = m["tokenizer.ggml.unknown_token_id"]?.integer ?? types.firstIndex(of: 2)
    let space: [String: Any] = ["type": "Replace", "pattern": ["String": " "], "content": "▁"]
    json["normalizer"] = [
      "type": "Sequence",
      "normalizers": (prefixesSpace ? [["type": "Prepend", "prepend": "▁"]] : []) + [space],
    ]
    json["pre_tokenizer"] = NSNull()
    json["decoder"] = [
      "type": "Sequence",
      "decoders": [
        ["type": "Replace", "pattern": ["String": "▁"], "content": " "], ["type": "ByteFallback"],
        ["type": "Fuse"], ["type": "Strip", "content": " ", "start": prefixesSpace ? 1 : 0, "stop": 0],
      ],
    ]
    json["model"] =
      [
        "type": "BPE", "dropout": NSNull(), "fuse_unk": true, "byte_fallback": true,
        "unk_token": unknown.flatMap { tokens.indices.contains($0) ? tokens[$0] : nil } ?? NSNull(),
        "vocab": ids, "merges": merges.map(\.pair),
      ] as [String: Any]
  }
}
