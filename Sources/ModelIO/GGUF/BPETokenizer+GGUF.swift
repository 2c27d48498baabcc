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
  /// none: a byte-level BPE (`tokenizer.ggml.model` `gpt2`) with its tokens, merges and
  /// pre-tokenizer (`tokenizer.ggml.pre`, see `ggufPreTokenizers`); control and user-defined
  /// tokens (types 3 and 4) are added tokens, control ones special. It is built as the
  /// `tokenizer.json` that describes the same tokenizer, so it encodes as that file does.
  ///
  /// - Throws: `GGUFError.unsupportedModelFeature` for another tokenizer model (SentencePiece's
  ///   `llama`, …) or pre-tokenizer, `.missingMetadata` for missing or malformed tokens,
  ///   types or merges, and what `init(json:)` throws.
  public init?(gguf file: GGUFFile) throws {
    let m = file.metadata
    guard let model = m["tokenizer.ggml.model"]?.string, model != "none" else { return nil }
    guard model == "gpt2" else {
      throw GGUFError.unsupportedModelFeature("tokenizer \"\(model)\"", supported: "gpt2 (byte-level BPE)")
    }
    let pre = m["tokenizer.ggml.pre"]?.string ?? "default"
    guard let pattern = Self.ggufPreTokenizers[pre] else {
      throw GGUFError.unsupportedModelFeature(
        "pre-tokenizer \"\(pre)\"", supported: Self.ggufPreTokenizers.keys.sorted().joined(separator: ", "))
    }
    func strings(_ key: String) throws -> [String] {
      guard case .array(let values)? = m[key], let strings = Optional(values.compactMap(\.string)),
        strings.count == values.count
      else { throw GGUFError.missingMetadata(key: key, expected: "an array of strings") }
      return strings
    }
    let tokens = try strings("tokenizer.ggml.tokens")
    let merges = try strings("tokenizer.ggml.merges")
    var types = [Int](repeating: 1, count: tokens.count)
    if case .array(let values)? = m["tokenizer.ggml.token_type"] {
      guard values.count == tokens.count, values.allSatisfy({ $0.integer != nil }) else {
        throw GGUFError.missingMetadata(
          key: "tokenizer.ggml.token_type",
          expected: "one whole number for each of the \(tokens.count) tokens")
      }
      types = values.map { $0.integer! }
    }
    let byteLevel: [String: Any] = [
      "type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": pattern == nil,
    ]
    let preTokenizer: [String: Any] =
      pattern.map {
        [
          "type": "Sequence",
          "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": $0], "behavior": "Isolated", "invert": false], byteLevel,
          ],
        ]
      } ?? byteLevel
    let added = tokens.indices.filter { types[$0] == 3 || types[$0] == 4 }.map { id -> [String: Any] in
      [
        "id": id, "content": tokens[id], "single_word": false, "lstrip": false, "rstrip": false,
        "normalized": false, "special": types[id] == 3,
      ]
    }
    let json: [String: Any] = [
      "version": "1.0", "added_tokens": added, "normalizer": NSNull(), "pre_tokenizer": preTokenizer,
      "post_processor": NSNull(),
      "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
      "model": [
        "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "fuse_unk": false, "byte_fallback": false,
        "vocab": Dictionary(tokens.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first }),
        "merges": merges.map { $0.split(separator: " ", maxSplits: 1).map(String.init) },
      ] as [String: Any],
    ]
    try self.init(json: try JSONSerialization.data(withJSONObject: json))
  }
}
