import CostModel
import Foundation
import MoE

/// One OpenAI-style request, `POST /v1/completions` or `POST /v1/chat/completions`, read and
/// checked field by field: every field a client sends is typed and ranged, unknown fields are
/// ignored, and a wrong one is a `ServingError.invalidField` naming it and what was sent.
///
/// Fields (OpenAI's names and defaults): `model` (string), `prompt` (a string, or one string
/// in an array, or token ids) or `messages` (`[{role, content}]`), `max_tokens` (1…; 16 for
/// completions, the context's room for chat), `temperature` (0…2, default 1), `top_p`
/// (0 < p ≤ 1, default 1), `top_k` (0 = all, or 1…), `seed` (a whole number), `stop` (a string
/// or up to 4 strings, none empty), `n` (1 only), `logprobs` (completions: 0…20 alternatives;
/// chat: a boolean with `top_logprobs` 0…20), `stream` (boolean), and `ignore_eos` (boolean, the
/// vLLM and llama.cpp extension).
public struct CompletionRequest: Sendable, Equatable {
  /// What the model continues.
  public enum Prompt: Sendable, Equatable {
    /// Text to tokenize.
    case text(String)
    /// Token ids as they are.
    case tokens([Int])
    /// A conversation, for the chat template to render.
    case chat([ChatMessage])
  }

  /// The model asked for (`nil`: the one served).
  public var model: String?
  /// What the model continues.
  public var prompt: Prompt
  /// The most tokens to generate (`nil`: until the context is full, for chat).
  public var maxTokens: Int?
  /// How each token is chosen.
  public var sampler: TokenSampler
  /// The sampler's seed (`nil`: a fresh one).
  public var seed: UInt64?
  /// Strings that end the answer (not included in it).
  public var stop: [String]
  /// How many alternatives to report with each token's log-probability (`nil`: none).
  public var logprobs: Int?
  /// Whether to answer as server-sent events, token by token.
  public var stream: Bool
  /// Whether to go on past end-of-sequence tokens (`ignore_eos`, as vLLM and llama.cpp take it:
  /// benchmarks that need answers of a fixed length).
  public var ignoreEOS: Bool

  /// The most alternatives `logprobs` may ask for.
  public static let maximumLogprobs = 20

  /// The request in `body`, for the chat endpoint when `chat`.
  ///
  /// - Throws: `ServingError.invalidJSON` for a body that is not a JSON object,
  ///   `.invalidField` for a field of the wrong type or out of range.
  public init(json body: Data, chat: Bool) throws(ServingError) {
    let value: JSONValue
    do {
      value = try JSONValue.parse(body)
    } catch {
      throw .invalidJSON("\(error)")
    }
    guard case .object(let fields) = value else { throw .invalidJSON("it is \(Self.kind(of: value))") }
    let read = Fields(fields)
    model = try read.string("model")
    if chat {
      guard case .array(let items)? = fields["messages"], !items.isEmpty else {
        throw .invalidField(
          param: "messages", problem: "must be a non-empty array of {role, content} objects")
      }
      prompt = .chat(
        try items.enumerated().map { (i, item) throws(ServingError) in try ChatMessage(item, index: i) })
    } else {
      switch fields["prompt"] {
      case .string(let text)?: prompt = .text(text)
      case .array(let items)? where items.count == 1 && Self.text(items[0]) != nil:
        prompt = .text(Self.text(items[0])!)
      case .array(let items)? where !items.isEmpty:
        prompt = .tokens(
          try items.map { (item) throws(ServingError) -> Int in
            guard case .number(let x) = item, x >= 0, x < 2_147_483_648, x.rounded() == x else {
              throw .invalidField(
                param: "prompt",
                problem:
                  "must be a string, one string in an array, or token ids, got \(Self.kind(of: item)) in the array"
              )
            }
            return Int(x)
          })
      case let other:
        throw .invalidField(
          param: "prompt",
          problem:
            "must be a string, one string in an array, or token ids, got \(other.map(Self.kind) ?? "nothing")"
        )
      }
    }
    maxTokens = try read.int("max_tokens", in: 1...(1 << 24)) ?? (chat ? nil : 16)
    let temperature = try read.number("temperature", in: 0...2) ?? 1
    let topP = try read.number("top_p", in: 0...1) ?? 1
    guard topP > 0 else {
      throw .invalidField(param: "top_p", problem: "must be above 0 and at most 1, got 0")
    }
    let topK = try read.int("top_k", in: 0...(1 << 24)) ?? 0
    sampler = TokenSampler(temperature: temperature, topK: topK == 0 ? nil : topK, topP: topP)
    seed = try read.int("seed", in: Int(Int64.min)...Int(Int64.max)).map { UInt64(bitPattern: Int64($0)) }
    switch fields["stop"] {
    case nil, .null?: stop = []
    case .string(let s)?: stop = [s]
    case .array(let items)? where items.count <= 4:
      stop = try items.map { (item) throws(ServingError) -> String in
        guard case .string(let s) = item else {
          throw .invalidField(param: "stop", problem: "must hold strings, got \(Self.kind(of: item))")
        }
        return s
      }
    case let other?:
      throw .invalidField(
        param: "stop", problem: "must be a string or up to 4 strings, got \(Self.kind(of: other))")
    }
    guard !stop.contains("") else {
      throw .invalidField(param: "stop", problem: "an empty string never matches")
    }
    if let n = try read.int("n", in: 1...(1 << 24)), n != 1 {
      throw .invalidField(param: "n", problem: "only 1 answer per request is served, got \(n)")
    }
    if chat {
      let wanted = try read.bool("logprobs") ?? false
      let top = try read.int("top_logprobs", in: 0...Self.maximumLogprobs)
      logprobs = wanted ? (top ?? 0) : nil
    } else {
      logprobs = try read.int("logprobs", in: 0...Self.maximumLogprobs)
    }
    stream = try read.bool("stream") ?? false
    ignoreEOS = try read.bool("ignore_eos") ?? false
  }

  /// The string `value` is, if it is one.
  static func text(_ value: JSONValue) -> String? {
    if case .string(let s) = value { return s }
    return nil
  }

  /// How a JSON value reads in an error message.
  static func kind(of value: JSONValue) -> String {
    switch value {
    case .null: "null"
    case .bool(let b): "\(b)"
    case .number(let x): x.isFinite && x.rounded() == x && abs(x) < 1e15 ? "\(Int(x))" : "\(x)"
    case .string(let s): "\"\(s.prefix(40))\(s.count > 40 ? "…" : "")\""
    case .array: "an array"
    case .object: "an object"
    }
  }

  /// Typed, ranged reads of a request's fields (`null` is absent).
  struct Fields {
    let fields: [String: JSONValue]
    init(_ fields: [String: JSONValue]) { self.fields = fields }

    func string(_ key: String) throws(ServingError) -> String? {
      switch fields[key] {
      case nil, .null?: return nil
      case .string(let s)?: return s
      case let other?: throw .invalidField(param: key, problem: "must be a string, got \(kind(of: other))")
      }
    }

    func bool(_ key: String) throws(ServingError) -> Bool? {
      switch fields[key] {
      case nil, .null?: return nil
      case .bool(let b)?: return b
      case let other?:
        throw .invalidField(param: key, problem: "must be true or false, got \(kind(of: other))")
      }
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws(ServingError) -> Double? {
      switch fields[key] {
      case nil, .null?: return nil
      case .number(let x)? where range.contains(x): return x
      case let other?:
        throw .invalidField(
          param: key,
          problem: "must be a number from \(range.lowerBound) to \(range.upperBound), got \(kind(of: other))")
      }
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws(ServingError) -> Int? {
      switch fields[key] {
      case nil, .null?: return nil
      case .number(let x)?
      where x.rounded() == x && x >= Double(range.lowerBound) && x <= Double(range.upperBound):
        return Int(exactly: x) ?? (x < 0 ? range.lowerBound : range.upperBound)
      case let other?:
        throw .invalidField(
          param: key,
          problem:
            "must be a whole number from \(range.lowerBound) to \(range.upperBound), got \(kind(of: other))")
      }
    }

    func kind(of value: JSONValue) -> String { CompletionRequest.kind(of: value) }
  }
}
