import Foundation
import ModelIO
import Testing

/// Published chat templates rendered by MoEKit byte for byte as `transformers` renders them
/// (scripts/make-chat-template-fixtures.py), conversation by conversation; what a template
/// refuses, MoEKit refuses too; what the renderer lacks is refused when the template is read.
@Suite struct ChatTemplateTests {
  struct Case {
    var template: String
    var messages: [[String: Any]]
    var addGenerationPrompt: Bool
    var variables: [String: Any]
    var text: String?
  }

  nonisolated(unsafe) static let cases: [Case] = {
    let data = try! Data(contentsOf: URL(fileURLWithPath: Fixtures.path("chat_templates/cases.json")))
    let list = try! JSONSerialization.jsonObject(with: data) as! [[String: Any]]
    return list.map {
      Case(
        template: $0["template"] as! String, messages: $0["messages"] as! [[String: Any]],
        addGenerationPrompt: $0["add_generation_prompt"] as! Bool,
        variables: $0["variables"] as! [String: Any],
        text: $0["text"] as? String)
    }
  }()

  static let templates = [
    "qwen3", "qwen2.5", "deepseek-v3.1", "glm-4.6", "gpt-oss", "mistral-nemo", "llama-3.1", "granite-3.3",
    "phi-3.5", "kimi-k2",
  ]

  @Test(arguments: templates) func rendersAsTransformersDoes(name: String) throws {
    let source = try String(contentsOfFile: Fixtures.path("chat_templates/\(name).jinja"), encoding: .utf8)
    let template = try ChatTemplate(source)
    let cases = Self.cases.filter { $0.template == name }
    #expect(cases.count == 32)
    var mismatches: [String] = []
    for c in cases {
      do {
        let text = try template.render(
          messages: c.messages, addGenerationPrompt: c.addGenerationPrompt, variables: c.variables)
        if text != c.text {
          mismatches.append(
            "case \(c.messages.map { $0["role"]! }) gen \(c.addGenerationPrompt): got\n\(text)\nexpected\n\(c.text ?? "an error")"
          )
        }
      } catch ChatTemplateError.raised {
        if c.text != nil { mismatches.append("raised on \(c.messages.map { $0["role"]! })") }
      } catch {
        mismatches.append("\(error) on \(c.messages.map { $0["role"]! })")
      }
    }
    #expect(
      mismatches.isEmpty,
      "\(name): \(mismatches.count) of \(cases.count) differ; first:\n\(mismatches.first ?? "")")
  }
}
