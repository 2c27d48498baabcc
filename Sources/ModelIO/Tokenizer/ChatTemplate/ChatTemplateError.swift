/// Why a chat template cannot be read or rendered.
public enum ChatTemplateError: Error, Equatable, CustomStringConvertible {
  /// The template uses a construct (a tag, filter, test or method) this renderer does not
  /// implement: refused when the template is read, never rendered differently.
  case unsupported(String, line: Int)
  /// The template breaks Jinja's grammar.
  case syntax(String, line: Int)
  /// Rendering failed: an operation on values of the wrong kind, an undefined value used.
  case rendering(String, line: Int)
  /// The template itself refused the conversation (`raise_exception`).
  case raised(String)

  /// What was wrong, and where.
  public var description: String {
    switch self {
    case .unsupported(let what, let line):
      "the chat template uses \(what) (line \(line)), which MoEKit's renderer does not support"
    case .syntax(let problem, let line): "the chat template is not valid Jinja at line \(line): \(problem)"
    case .rendering(let problem, let line): "rendering the chat template failed at line \(line): \(problem)"
    case .raised(let message): "the chat template refused the conversation: \(message)"
    }
  }
}
