import CostModel

/// One message of a chat request: its `role` (`system`, `user`, `assistant`, `tool`, …) and
/// its text `content` (a string, or an array of `{"type": "text", "text": …}` parts, joined).
public struct ChatMessage: Sendable, Equatable {
  /// Who speaks.
  public var role: String
  /// What is said.
  public var content: String

  /// A message.
  public init(role: String, content: String) { (self.role, self.content) = (role, content) }

  /// The message `value`, the `index`-th of the request's `messages`.
  ///
  /// - Throws: `ServingError.invalidField` naming `messages[index]` and what is wrong.
  init(_ value: JSONValue, index: Int) throws(ServingError) {
    let param = "messages[\(index)]"
    guard case .object(let fields) = value else {
      throw .invalidField(
        param: param, problem: "must be a {role, content} object, got \(CompletionRequest.kind(of: value))")
    }
    guard case .string(let role)? = fields["role"], !role.isEmpty else {
      throw .invalidField(param: param + ".role", problem: "must be a non-empty string")
    }
    switch fields["content"] {
    case .string(let text)?: content = text
    case .null?, nil: content = ""
    case .array(let parts)?:
      content = try parts.map { (part) throws(ServingError) -> String in
        guard case .object(let p) = part, case .string(let text)? = p["text"] else {
          throw .invalidField(
            param: param + ".content", problem: "parts must be {\"type\": \"text\", \"text\": …}")
        }
        return text
      }.joined()
    case let other?:
      throw .invalidField(
        param: param + ".content", problem: "must be a string, got \(CompletionRequest.kind(of: other))")
    }
    self.role = role
  }
}
