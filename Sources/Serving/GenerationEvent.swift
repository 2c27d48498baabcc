/// What a request's stream of events brings: each generated token as it comes, then one
/// `finished`.
public enum GenerationEvent: Sendable, Equatable {
  /// One generated token.
  case token(Token)
  /// The answer is complete (or failed), with its token counts.
  case finished(FinishReason, Usage)

  /// A generated token, the text it adds and, when asked for, its log-probability.
  public struct Token: Sendable, Equatable {
    /// The token id.
    public var id: Int
    /// The text this token makes safe to send (possibly empty: the rest of a character, or a
    /// tail that may grow into a stop string, comes with a later token).
    public var text: String
    /// `log p(token)` under the model's distribution (before temperature), when asked for.
    public var logprob: Double?
    /// The most likely alternatives `(id, text, log p)`, when asked for.
    public var alternatives: [Alternative]
  }

  /// One of the most likely tokens at a position.
  public struct Alternative: Sendable, Equatable {
    /// The token id.
    public var id: Int
    /// Its text alone.
    public var text: String
    /// Its log-probability.
    public var logprob: Double
  }

  /// Why the answer ended.
  public enum FinishReason: Sendable, Equatable {
    /// An end-of-sequence token or a stop string (OpenAI's `stop`).
    case stop
    /// `max_tokens`, or the context, ran out (`length`).
    case length
    /// The request failed on the way (timed out, non-finite logits): the message says why.
    case failed(String)

    /// OpenAI's `finish_reason` (`nil` for a failure, which is reported as an error).
    public var openAIName: String? {
      switch self {
      case .stop: "stop"
      case .length: "length"
      case .failed: nil
      }
    }
  }

  /// Token counts of a request.
  public struct Usage: Sendable, Equatable {
    /// Tokens of the prompt.
    public var promptTokens: Int
    /// Tokens generated.
    public var completionTokens: Int
  }
}
