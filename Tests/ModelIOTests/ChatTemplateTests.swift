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

  /// What the renderer lacks is refused when the template is read, naming it and the line;
  /// broken Jinja is a syntax error; `raise_exception` is the template's own refusal.
  @Test func unsupportedOrBrokenTemplatesAreRefusedWhenRead() throws {
    for (source, what) in [
      ("{% include 'other.jinja' %}", "{% include %}"), ("{{ x | wordwrap(20) }}", "|wordwrap"),
      ("a\n{{ x.format(1) }}", ".format()"), ("{{ cycler(1, 2) }}", "cycler()"),
      ("{% if x is sameas y %}{% endif %}", "is sameas"),
      ("{% for a in b recursive %}{% endfor %}", "recursive"),
    ] {
      #expect(throws: ChatTemplateError.self, "\(source)") { try ChatTemplate(source) }
      do { _ = try ChatTemplate(source) } catch {
        guard case .unsupported(let construct, let line) = error else {
          Issue.record("\(source): \(error)")
          continue
        }
        #expect(
          construct.contains(what) && line == (source.hasPrefix("a\n") ? 2 : 1), "\(source): \(construct)")
      }
    }
    for source in [
      "{% if x %}", "{{ x ", "{% for %}{% endfor %}", "{{ 'open }}", "{% endif %}", "{{ x[1:2:3:4] }}",
    ] {
      do {
        _ = try ChatTemplate(source)
        Issue.record("accepted \(source)")
      } catch {
        if case .syntax = error {} else { Issue.record("\(source): \(error)") }
      }
    }
    let refusing = try ChatTemplate(
      "{% if messages|length > 1 %}{{ raise_exception('one message only') }}{% endif %}ok")
    #expect(
      try refusing.render(messages: [["role": "user", "content": "a"]], addGenerationPrompt: true) == "ok")
    #expect(throws: ChatTemplateError.raised("one message only")) {
      try refusing.render(
        messages: [["role": "user", "content": "a"], ["role": "user", "content": "b"]],
        addGenerationPrompt: true)
    }
  }

  /// Jinja's whitespace control and scoping as `transformers` configures it (the expected text
  /// is what it renders): `trim_blocks` drops the newline after a tag, `lstrip_blocks` the
  /// indentation before one, `-` every whitespace on its side; a loop's assignments stay in the
  /// loop, a namespace's do not.
  @Test func whitespaceAndScopesFollowJinja() throws {
    let template = try ChatTemplate(
      "{% set ns = namespace(n=0) %}{% set x = 'outer' %}\n  {% for m in messages %}\n{% set x = m.role %}{% set ns.n = ns.n + 1 %}[{{ x }}]  {%- if loop.last %} last{% endif %}\n{% endfor %}\n{{ x }} {{ ns.n }} {{ messages[::-1][0].content | upper }} {{ 'a,b,c'.split(',')[-1] }}{# gone #}"
    )
    let text = try template.render(
      messages: [["role": "user", "content": "hi"], ["role": "assistant", "content": "yo"]],
      addGenerationPrompt: false)
    #expect(text == "[user][assistant] lastouter 2 YO c")  // what transformers renders
  }

  /// A template that would nest, recurse or allocate without end is an error, not a crash.
  @Test func runawayTemplatesAreErrors() throws {
    for source in [
      "{{ " + String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000) + " }}",
      "{{ " + String(repeating: "not ", count: 5000) + "x }}",
      String(repeating: "{% if x %}", count: 5000) + String(repeating: "{% endif %}", count: 5000),
    ] {
      #expect(throws: ChatTemplateError.self) { try ChatTemplate(source) }
    }
    for source in [
      "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "{% for i in range(1000000000) %}{% endfor %}",
      "{{ 'ab' * 1000000000 }}",
    ] {
      let template = try ChatTemplate(source)
      #expect(throws: ChatTemplateError.self, "\(source)") {
        try template.render(messages: [], addGenerationPrompt: false)
      }
    }
  }
}
