import Foundation

/// A Jinja template parsed into nodes: the subset of Jinja 3 that the published chat templates
/// use, read with `transformers`' settings (`trim_blocks`, `lstrip_blocks`; `loopcontrols`).
///
/// Statements: `if`/`elif`/`else`, `for … in … [if …]` with `else`, `loop.*` and tuple targets,
/// `set` (a name, a namespace attribute, or a block), `macro`, `break`, `continue`,
/// `generation` (ignored), comments, and `-`/`+` whitespace control. Expressions: literals,
/// lists, dicts, attribute and item access, slices, calls with keyword arguments, filters,
/// tests, `not`/`and`/`or`, comparisons, `in`, arithmetic, `~`, and `a if b else c`. A tag,
/// filter, test, global or method outside `JinjaRenderer`'s lists is refused when the
/// template is parsed.
struct JinjaTemplate {
  /// An expression.
  indirect enum Expression {
    case literal(JinjaValue)
    case name(String)
    case list([Expression])
    case dict([(Expression, Expression)])
    case attribute(Expression, String)
    case index(Expression, Expression)
    case slice(Expression, Expression?, Expression?, Expression?)
    case call(Expression, [Expression], [(String, Expression)])
    case filter(Expression, String, [Expression], [(String, Expression)])
    case test(Expression, String, [Expression], negated: Bool)
    case unary(String, Expression)
    case binary(String, Expression, Expression)
    case conditional(Expression, test: Expression, otherwise: Expression?)
  }

  /// A statement or piece of text, with the line it starts on.
  struct Node {
    indirect enum Kind {
      case text(String)
      case output(Expression)
      case conditional([(Expression, [Node])], otherwise: [Node])
      case loop(targets: [String], over: Expression, filter: Expression?, body: [Node], otherwise: [Node])
      case assign(targets: [String], attribute: String?, Expression)
      case capture(String, [Node])
      case macro(String, parameters: [(String, Expression?)], body: [Node])
      case breakLoop
      case continueLoop
    }
    var kind: Kind
    var line: Int
  }

  /// The template's top-level nodes.
  let nodes: [Node]

  /// Parses `source`.
  ///
  /// - Throws: `ChatTemplateError.syntax` or `.unsupported`, with the line.
  init(_ source: String) throws(ChatTemplateError) {
    var parser = Parser(segments: try Self.segments(source))
    nodes = try parser.block(until: [])
    try parser.checkNames(nodes)
  }

  // MARK: Segments: text and tags, whitespace control applied

  enum Segment {
    case text(String, line: Int)
    case output([Token], line: Int)
    case statement([Token], line: Int)
  }

  /// The text between tags and the tags' tokens, with `trim_blocks`, `lstrip_blocks` and `-`
  /// applied.
  static func segments(_ source: String) throws(ChatTemplateError) -> [Segment] {
    let chars = Array(source)
    var segments: [Segment] = []
    var text = ""
    var i = 0
    var line = 1
    var textLine = 1
    var trimNextNewline = false
    var stripNextWhitespace = false
    while i < chars.count {
      if chars[i] == "{", i + 1 < chars.count, "{%#".contains(chars[i + 1]) {
        let kind = chars[i + 1]
        var j = i + 2
        var stripBefore = false
        var keepBefore = false
        if j < chars.count, chars[j] == "-" {
          (stripBefore, j) = (true, j + 1)
        } else if j < chars.count, chars[j] == "+" {
          (keepBefore, j) = (true, j + 1)
        }
        let close: Character = kind == "{" ? "}" : kind == "%" ? "%" : "#"
        // Find the closing delimiter outside string literals.
        var k = j
        var quote: Character?
        var end = -1
        while k + 1 < chars.count {
          let c = chars[k]
          if let q = quote {
            if c == "\\" {
              k += 2
              continue
            }
            if c == q { quote = nil }
          } else if kind != "#" && (c == "'" || c == "\"") {
            quote = c
          } else if c == close && chars[k + 1] == "}" {
            end = k
            break
          }
          k += 1
        }
        guard end >= 0 else { throw .syntax("a tag opened here is never closed", line: line) }
        var inner = String(chars[j..<end])
        var stripAfter = false
        if inner.hasSuffix("-") {
          (stripAfter, inner) = (true, String(inner.dropLast()))
        } else if inner.hasSuffix("+") {
          inner = String(inner.dropLast())
        }
        if stripBefore {
          while let last = text.last, last.isWhitespace { text.removeLast() }
        } else if kind != "{" && !keepBefore {
          // lstrip_blocks: spaces and tabs between the start of a line and the tag go.
          var b = i - 1
          while b >= 0, chars[b] == " " || chars[b] == "\t" { b -= 1 }
          if b < 0 || chars[b] == "\n" {
            while let last = text.last, last == " " || last == "\t" { text.removeLast() }
          }
        }
        if !text.isEmpty { segments.append(.text(text, line: textLine)) }
        text = ""
        let tagLine = line
        line += chars[i..<end + 2].filter { $0 == "\n" }.count
        i = end + 2
        switch kind {
        case "{": segments.append(.output(try Lexer.tokens(inner, line: tagLine), line: tagLine))
        case "%": segments.append(.statement(try Lexer.tokens(inner, line: tagLine), line: tagLine))
        default: break
        }
        stripNextWhitespace = stripAfter
        trimNextNewline = kind != "{" && !stripAfter
        textLine = line
        continue
      }
      let c = chars[i]
      if stripNextWhitespace && c.isWhitespace {
        if c == "\n" { line += 1 }
        i += 1
        textLine = line
        continue
      }
      stripNextWhitespace = false
      if trimNextNewline {
        trimNextNewline = false
        if c == "\n" {
          line += 1
          i += 1
          textLine = line
          continue
        }
      }
      if text.isEmpty { textLine = line }
      text.append(c)
      if c == "\n" { line += 1 }
      i += 1
    }
    if !text.isEmpty { segments.append(.text(text, line: textLine)) }
    return segments
  }

  // MARK: Tokens

  enum Token: Equatable {
    case name(String)
    case string(String)
    case int(Int)
    case double(Double)
    case op(String)
  }

  enum Lexer {
    static let operators = [
      "**", "//", "==", "!=", "<=", ">=", "(", ")", "[", "]", "{", "}", ",", ":", ".", "|", "~",
      "+", "-", "*", "/", "%", "<", ">", "=",
    ]

    static func tokens(_ source: String, line: Int) throws(ChatTemplateError) -> [Token] {
      let chars = Array(source)
      var tokens: [Token] = []
      var i = 0
      while i < chars.count {
        let c = chars[i]
        if c.isWhitespace {
          i += 1
        } else if c.isLetter || c == "_" {
          var j = i
          while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { j += 1 }
          tokens.append(.name(String(chars[i..<j])))
          i = j
        } else if c.isNumber {
          var j = i
          while j < chars.count, chars[j].isNumber || chars[j] == "_" { j += 1 }
          if j + 1 < chars.count, chars[j] == ".", chars[j + 1].isNumber {
            j += 1
            while j < chars.count, chars[j].isNumber { j += 1 }
            tokens.append(.double(Double(String(chars[i..<j]))!))
          } else {
            guard let value = Int(String(chars[i..<j]).replacingOccurrences(of: "_", with: "")) else {
              throw .syntax("the number \(String(chars[i..<j])) is too large", line: line)
            }
            tokens.append(.int(value))
          }
          i = j
        } else if c == "'" || c == "\"" {
          var j = i + 1
          var value = ""
          while j < chars.count, chars[j] != c {
            if chars[j] == "\\", j + 1 < chars.count {
              j += 1
              switch chars[j] {
              case "n": value.append("\n")
              case "t": value.append("\t")
              case "r": value.append("\r")
              case "\\": value.append("\\")
              case "'": value.append("'")
              case "\"": value.append("\"")
              default: value += "\\" + String(chars[j])
              }
            } else {
              value.append(chars[j])
            }
            j += 1
          }
          guard j < chars.count else { throw .syntax("a string is never closed", line: line) }
          tokens.append(.string(value))
          i = j + 1
        } else if let op = operators.first(where: { op in
          i + op.count <= chars.count && String(chars[i..<i + op.count]) == op
        }) {
          tokens.append(.op(op))
          i += op.count
        } else {
          throw .syntax("unexpected character \"\(c)\"", line: line)
        }
      }
      return tokens
    }
  }
}
