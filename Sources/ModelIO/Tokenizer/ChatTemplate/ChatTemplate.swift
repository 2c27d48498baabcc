import CostModel
import Foundation

/// A model's chat template — the Jinja `chat_template` of its `tokenizer_config.json` (or
/// `chat_template.jinja`, or a GGUF file's `tokenizer.chat_template`) — rendered as
/// `transformers`' `apply_chat_template` renders it: Jinja with `trim_blocks` and
/// `lstrip_blocks`, `loopcontrols`, `raise_exception`, `strftime_now`, and a `tojson` that
/// writes JSON as Python's `json.dumps(ensure_ascii=False)` does.
///
/// The renderer implements the subset of Jinja the published templates use (see
/// `JinjaTemplate`); a template that reaches outside it is refused when it is read, naming
/// the construct, never rendered into a different prompt.
public struct ChatTemplate: @unchecked Sendable {
  /// The template's text.
  public let source: String
  /// The BOS and EOS tokens' text, for the template's `bos_token` and `eos_token`.
  public var specialTokens: (bos: String, eos: String)
  let template: JinjaTemplate

  /// The template `source`.
  ///
  /// - Throws: `ChatTemplateError.syntax` or `.unsupported`, with the line.
  public init(_ source: String, bosToken: String = "", eosToken: String = "") throws(ChatTemplateError) {
    self.source = source
    specialTokens = (bosToken, eosToken)
    template = try JinjaTemplate(source)
  }

  /// The template of a model folder: `chat_template.jinja`, else `tokenizer_config.json`'s
  /// `chat_template` (a string, or the one named `default` of a list), with its `bos_token`
  /// and `eos_token`; `nil` when the folder has none.
  ///
  /// - Throws: `ChatTemplateError` for a template it cannot render, `CheckpointError` for a
  ///   `tokenizer_config.json` that is not JSON.
  public init?(folder: String) throws {
    let url = URL(fileURLWithPath: folder)
    var source: String?
    var tokens = ("", "")
    if let data = FileManager.default.contents(
      atPath: url.appendingPathComponent("tokenizer_config.json").path)
    {
      guard case .object(let config) = try JSONValue.parse(data) else {
        throw CheckpointError.unsupportedField(
          field: "tokenizer_config.json", value: "not an object", supported: "an object")
      }
      switch config["chat_template"] {
      case .string(let text)?: source = text
      case .array(let named)?:
        for case .object(let entry) in named where entry["name"] == .string("default") {
          if case .string(let text)? = entry["template"] { source = text }
        }
      default: break
      }
      func token(_ key: String) -> String {
        switch config[key] {
        case .string(let s)?: s
        case .object(let o)?: if case .string(let s)? = o["content"] { s } else { "" }
        default: ""
        }
      }
      tokens = (token("bos_token"), token("eos_token"))
    }
    if let text = try? String(contentsOf: url.appendingPathComponent("chat_template.jinja"), encoding: .utf8)
    {
      source = text
    }
    guard let source else { return nil }
    try self.init(source, bosToken: tokens.0, eosToken: tokens.1)
  }

  /// The template a GGUF file's metadata hold (`tokenizer.chat_template`), with its BOS and EOS
  /// tokens' text; `nil` without one.
  ///
  /// - Throws: `ChatTemplateError` for a template it cannot render.
  public init?(gguf file: GGUFFile) throws(ChatTemplateError) {
    guard let source = file.metadata["tokenizer.chat_template"]?.string else { return nil }
    var tokens: [GGUFValue] = []
    if case .array(let values)? = file.metadata["tokenizer.ggml.tokens"] { tokens = values }
    func token(_ key: String) -> String {
      guard let id = file.metadata["tokenizer.ggml.\(key)"]?.integer, tokens.indices.contains(id) else {
        return ""
      }
      return tokens[id].string ?? ""
    }
    try self.init(source, bosToken: token("bos_token_id"), eosToken: token("eos_token_id"))
  }

  /// The prompt for `messages` (each `role` and `content`, and whatever else a message holds:
  /// `tool_calls`, `reasoning_content`, …), ending with the assistant's turn opened when
  /// `addGenerationPrompt`; `variables` adds or overrides template variables (`tools`,
  /// `enable_thinking`, `date_string`, …), given as JSON-like values. A message's keys are
  /// `role`, `content`, then the others sorted; the keys of values inside are sorted.
  ///
  /// - Throws: `ChatTemplateError.raised` when the template refuses the conversation,
  ///   `.rendering` when it fails on it.
  public func render(messages: [[String: Any]], addGenerationPrompt: Bool, variables: [String: Any] = [:])
    throws(ChatTemplateError) -> String
  {
    var context: [String: JinjaValue] = [
      "messages": .list(
        messages.map { message in .object(Self.ordered(message).map { ($0, JinjaValue($1)) }) }),
      "add_generation_prompt": .bool(addGenerationPrompt),
      "bos_token": .string(specialTokens.bos), "eos_token": .string(specialTokens.eos),
    ]
    for (key, value) in variables { context[key] = JinjaValue(value) }
    var renderer = JinjaRenderer(variables: context)
    _ = try renderer.render(template.nodes)
    return renderer.output
  }

  /// A message's keys in a fixed order: `role`, `content`, then the rest sorted.
  static func ordered(_ message: [String: Any]) -> [(String, Any)] {
    let first = ["role", "content"].filter { message[$0] != nil }
    return (first + message.keys.filter { !first.contains($0) }.sorted()).map { ($0, message[$0]!) }
  }
}
