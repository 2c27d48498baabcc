import Foundation

/// Why a request is not served, with the HTTP status and OpenAI error type a server answers
/// it with.
public enum ServingError: Error, Equatable, CustomStringConvertible {
  /// A field is missing, of the wrong type or out of range (`param` names it).
  case invalidField(param: String, problem: String)
  /// The body is not one JSON object.
  case invalidJSON(String)
  /// The prompt and the tokens asked for do not fit the context (or the KV-cache budget).
  case contextExceeded(promptTokens: Int, maxTokens: Int, limit: Int, what: String)
  /// The model asked for is not the one served.
  case unknownModel(String, served: String)
  /// The queue of waiting requests is full.
  case overloaded(queued: Int)
  /// The server is shutting down.
  case shuttingDown

  /// The HTTP status a server answers with: 400, 404, or 503.
  public var status: Int {
    switch self {
    case .invalidField, .invalidJSON, .contextExceeded: 400
    case .unknownModel: 404
    case .overloaded, .shuttingDown: 503
    }
  }

  /// The OpenAI error object's `type`.
  public var type: String {
    switch self {
    case .invalidField, .invalidJSON, .contextExceeded, .unknownModel: "invalid_request_error"
    case .overloaded, .shuttingDown: "server_error"
    }
  }

  /// The OpenAI error object's `param`, when one field is at fault.
  public var param: String? {
    switch self {
    case .invalidField(let param, _): param
    case .contextExceeded: "max_tokens"
    case .unknownModel: "model"
    default: nil
    }
  }

  /// What was wrong, in a sentence that names what the client sent.
  public var description: String {
    switch self {
    case .invalidField(let param, let problem): "\(param): \(problem)"
    case .invalidJSON(let problem): "the body is not a JSON object: \(problem)"
    case .contextExceeded(let prompt, let maxTokens, let limit, let what):
      "the prompt's \(prompt) tokens and max_tokens \(maxTokens) need \(prompt + maxTokens) tokens, more than \(what) (\(limit)); shorten the prompt or ask for fewer tokens"
    case .unknownModel(let model, let served):
      "model \"\(model)\" is not served here; this server serves \"\(served)\""
    case .overloaded(let queued): "the server is busy: \(queued) requests are already waiting; retry later"
    case .shuttingDown: "the server is shutting down"
    }
  }

  /// The OpenAI error body: `{"error": {"message", "type", "param", "code"}}`.
  public var body: [String: Any] {
    [
      "error": [
        "message": description, "type": type, "param": param.map { $0 as Any } ?? NSNull(), "code": status,
      ]
    ]
  }
}
