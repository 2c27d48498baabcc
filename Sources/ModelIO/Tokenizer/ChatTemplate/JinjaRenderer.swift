import Foundation

/// Renders a `JinjaTemplate` over variables, with Jinja's scoping (a loop's body has its own
/// names; `if` does not; namespaces are shared), Python's value semantics, and the globals,
/// filters, tests and methods listed below — the ones published chat templates call.
struct JinjaRenderer {
  /// Global functions.
  static let globals: Set<String> = ["raise_exception", "namespace", "range", "strftime_now", "dict"]
  /// Methods of strings, mappings and the loop.
  static let methods: Set<String> = [
    "startswith", "endswith", "split", "rsplit", "strip", "lstrip", "rstrip", "upper", "lower", "title",
    "capitalize",
    "replace", "find", "count", "join", "items", "keys", "values", "get",
  ]
  /// Filters.
  static let filters: Set<String> = [
    "length", "count", "tojson", "trim", "upper", "lower", "capitalize", "title", "join", "default", "d",
    "first", "last",
    "list", "string", "int", "float", "abs", "replace", "items", "reverse", "map", "selectattr", "rejectattr",
    "select",
    "reject", "safe", "indent", "unique", "sort", "round", "max", "min", "sum", "wordcount",
  ]
  /// Tests.
  static let tests: Set<String> = [
    "defined", "undefined", "none", "string", "number", "integer", "float", "mapping", "iterable", "sequence",
    "boolean",
    "true", "false", "callable", "odd", "even", "divisibleby", "eq", "equalto", "ne", "lt", "gt", "le", "ge",
    "in",
  ]

  /// The most elements a template may make in one `range()` or string repetition: a template
  /// is the model's, but no template needs more.
  static let largestCollection = 1 << 20
  /// The deepest a template may nest expressions or macro calls.
  static let deepestNesting = 200

  /// Control flow out of a node.
  enum Flow { case normal, breakLoop, continueLoop }

  /// The names in scope, innermost last.
  var scopes: [[String: JinjaValue]]
  var output = ""
  var line = 1

  init(variables: [String: JinjaValue]) { scopes = [variables] }

  func lookup(_ name: String) -> JinjaValue {
    for scope in scopes.reversed() { if let value = scope[name] { return value } }
    return .undefined
  }

  mutating func render(_ nodes: [JinjaTemplate.Node]) throws(ChatTemplateError) -> Flow {
    for node in nodes {
      line = node.line
      switch node.kind {
      case .text(let text): output += text
      case .output(let e): output += try evaluate(e).text
      case .conditional(let branches, let otherwise):
        var taken = false
        for (condition, body) in branches where try evaluate(condition).isTrue {
          taken = true
          let flow = try render(body)
          if flow != .normal { return flow }
          break
        }
        if !taken {
          let flow = try render(otherwise)
          if flow != .normal { return flow }
        }
      case .loop(let targets, let over, let filter, let body, let otherwise):
        var items = try iterate(try evaluate(over))
        if let filter {
          var kept: [JinjaValue] = []
          for item in items {
            scopes.append(try bind(targets, item))
            let keep = try evaluate(filter).isTrue
            scopes.removeLast()
            if keep { kept.append(item) }
          }
          items = kept
        }
        if items.isEmpty {
          let flow = try render(otherwise)
          if flow != .normal { return flow }
          continue
        }
        for (i, item) in items.enumerated() {
          var scope = try bind(targets, item)
          scope["loop"] = .object([
            ("index", .int(i + 1)), ("index0", .int(i)), ("revindex", .int(items.count - i)),
            ("revindex0", .int(items.count - i - 1)), ("first", .bool(i == 0)),
            ("last", .bool(i == items.count - 1)),
            ("length", .int(items.count)), ("previtem", i > 0 ? items[i - 1] : .undefined),
            ("nextitem", i + 1 < items.count ? items[i + 1] : .undefined),
          ])
          scopes.append(scope)
          let flow = try render(body)
          scopes.removeLast()
          if flow == .breakLoop { break }
        }
      case .assign(let targets, let attribute, let e):
        let value = try evaluate(e)
        if let attribute {
          guard case .namespace(let ns) = lookup(targets[0]) else {
            throw .rendering(
              "\(targets[0]).\(attribute) is set, but \(targets[0]) is not a namespace", line: line)
          }
          ns.values[attribute] = value
        } else {
          for (name, part) in try bindPairs(targets, value) { scopes[scopes.count - 1][name] = part }
        }
      case .capture(let name, let body):
        let saved = output
        output = ""
        _ = try render(body)
        scopes[scopes.count - 1][name] = .string(output)
        output = saved
      case .macro(let name, let parameters, let body):
        let defaults = try parameters.map { (parameter, value) throws(ChatTemplateError) in
          (parameter, try value.map { (e) throws(ChatTemplateError) in try evaluate(e) })
        }
        let closure = scopes
        let box = MacroBox(name: name, parameters: defaults, body: body, scopes: closure)
        scopes[scopes.count - 1][name] = .function { arguments, keywords in try box.call(arguments, keywords)
        }
      case .breakLoop: return .breakLoop
      case .continueLoop: return .continueLoop
      }
    }
    return .normal
  }

  /// A macro with the names in scope where it was defined.
  final class MacroBox: @unchecked Sendable {
    let name: String
    let parameters: [(String, JinjaValue?)]
    let body: [JinjaTemplate.Node]
    let scopes: [[String: JinjaValue]]
    init(
      name: String, parameters: [(String, JinjaValue?)], body: [JinjaTemplate.Node],
      scopes: [[String: JinjaValue]]
    ) {
      (self.name, self.parameters, self.body, self.scopes) = (name, parameters, body, scopes)
    }

    /// Calls of this macro now running (a macro may call itself, but not without end).
    var depth = 0

    func call(_ arguments: [JinjaValue], _ keywords: [(String, JinjaValue)]) throws -> JinjaValue {
      guard depth < JinjaRenderer.deepestNesting else {
        throw ChatTemplateError.rendering(
          "the macro \(name) calls itself more than \(JinjaRenderer.deepestNesting) deep",
          line: body.first?.line ?? 0)
      }
      depth += 1
      defer { depth -= 1 }
      var renderer = JinjaRenderer(variables: [:])
      renderer.scopes = scopes
      var scope: [String: JinjaValue] = [:]
      for (i, (parameter, fallback)) in parameters.enumerated() {
        scope[parameter] =
          i < arguments.count
          ? arguments[i] : keywords.first { $0.0 == parameter }?.1 ?? fallback ?? .undefined
      }
      renderer.scopes.append(scope)
      _ = try renderer.render(body)
      return .string(renderer.output)
    }
  }

  /// The names a loop or assignment binds to `item`.
  func bind(_ targets: [String], _ item: JinjaValue) throws(ChatTemplateError) -> [String: JinjaValue] {
    Dictionary(try bindPairs(targets, item), uniquingKeysWith: { _, last in last })
  }

  func bindPairs(_ targets: [String], _ item: JinjaValue) throws(ChatTemplateError) -> [(String, JinjaValue)]
  {
    guard targets.count > 1 else { return [(targets[0], item)] }
    let parts = try iterate(item)
    guard parts.count == targets.count else {
      throw .rendering("\(targets.count) names for \(parts.count) values", line: line)
    }
    return Array(zip(targets, parts))
  }

  /// The items a `for` walks: a list's elements, a mapping's keys, a string's characters.
  func iterate(_ value: JinjaValue) throws(ChatTemplateError) -> [JinjaValue] {
    switch value {
    case .list(let items): return items
    case .object(let pairs): return pairs.map { .string($0.key) }
    case .string(let s): return s.map { .string(String($0)) }
    case .undefined, .none: return []
    default: throw .rendering("cannot loop over \(value.kind)", line: line)
    }
  }

  // MARK: Expressions

  mutating func evaluate(_ e: JinjaTemplate.Expression) throws(ChatTemplateError) -> JinjaValue {
    switch e {
    case .literal(let v): return v
    case .name(let n): return lookup(n)
    case .list(let items):
      return .list(try items.map { (item) throws(ChatTemplateError) in try evaluate(item) })
    case .dict(let pairs):
      var result: [(key: String, value: JinjaValue)] = []
      for (k, v) in pairs {
        let key = try evaluate(k).text
        let value = try evaluate(v)
        if let i = result.firstIndex(where: { $0.key == key }) {
          result[i].value = value
        } else {
          result.append((key, value))
        }
      }
      return .object(result)
    case .attribute(let base, let name):
      let value = try evaluate(base)
      if case .undefined = value {
        throw .rendering("\(Self.describe(base)) is undefined, so it has no .\(name)", line: line)
      }
      return value.member(name) ?? .undefined
    case .index(let base, let index):
      let value = try evaluate(base)
      let key = try evaluate(index)
      return try subscripted(value, key, base)
    case .slice(let base, let start, let stop, let step):
      let value = try evaluate(base)
      let bounds = try [start, stop, step].map { (part) throws(ChatTemplateError) -> Int? in
        guard let part else { return nil }
        guard case .int(let i) = try evaluate(part) else {
          throw .rendering("slice bounds must be integers", line: line)
        }
        return i
      }
      return try sliced(value, bounds[0], bounds[1], bounds[2] ?? 1)
    case .call(let callee, let arguments, let keywords):
      let args = try arguments.map { (a) throws(ChatTemplateError) in try evaluate(a) }
      let kwargs = try keywords.map { (k, v) throws(ChatTemplateError) in (k, try evaluate(v)) }
      if case .attribute(let base, let method) = callee {
        let receiver = try evaluate(base)
        if case .function(let f)? = receiver.member(method) { return try invoke(f, args, kwargs) }
        return try call(method: method, on: receiver, args, kwargs)
      }
      if case .name(let name) = callee, case .undefined = lookup(name) {
        return try global(name, args, kwargs)
      }
      guard case .function(let f) = try evaluate(callee) else {
        throw .rendering("\(Self.describe(callee)) is not a function", line: line)
      }
      return try invoke(f, args, kwargs)
    case .filter(let base, let name, let arguments, let keywords):
      let value = try evaluate(base)
      let args = try arguments.map { (a) throws(ChatTemplateError) in try evaluate(a) }
      let kwargs = try keywords.map { (k, v) throws(ChatTemplateError) in (k, try evaluate(v)) }
      return try filter(name, value, args, kwargs)
    case .test(let base, let name, let arguments, let negated):
      let value = try evaluate(base)
      let args = try arguments.map { (a) throws(ChatTemplateError) in try evaluate(a) }
      return .bool(try test(name, value, args) != negated)
    case .unary(let op, let operand):
      let value = try evaluate(operand)
      switch op {
      case "not": return .bool(!value.isTrue)
      default:
        switch value {
        case .int(let i): return .int(-i)
        case .double(let d): return .double(-d)
        default: throw .rendering("cannot negate \(value.kind)", line: line)
        }
      }
    case .binary(let op, let left, let right):
      if op == "and" {
        let l = try evaluate(left)
        return l.isTrue ? try evaluate(right) : l
      }
      if op == "or" {
        let l = try evaluate(left)
        return l.isTrue ? l : try evaluate(right)
      }
      return try binary(op, try evaluate(left), try evaluate(right))
    case .conditional(let value, let test, let otherwise):
      if try evaluate(test).isTrue { return try evaluate(value) }
      return try otherwise.map { (e) throws(ChatTemplateError) in try evaluate(e) } ?? .undefined
    }
  }

  func invoke(
    _ f: @Sendable ([JinjaValue], [(String, JinjaValue)]) throws -> JinjaValue, _ args: [JinjaValue],
    _ kwargs: [(String, JinjaValue)]
  ) throws(ChatTemplateError) -> JinjaValue {
    do {
      return try f(args, kwargs)
    } catch let error as ChatTemplateError {
      throw error
    } catch {
      throw .rendering("\(error)", line: line)
    }
  }

  /// A short rendering of an expression for error messages.
  static func describe(_ e: JinjaTemplate.Expression) -> String {
    switch e {
    case .name(let n): n
    case .attribute(let base, let n): describe(base) + "." + n
    case .index(let base, _): describe(base) + "[…]"
    default: "the value"
    }
  }

  func subscripted(_ value: JinjaValue, _ key: JinjaValue, _ base: JinjaTemplate.Expression)
    throws(ChatTemplateError)
    -> JinjaValue
  {
    switch (value, key) {
    case (.list(let items), .int(let i)):
      let j = i < 0 ? items.count + i : i
      return items.indices.contains(j) ? items[j] : .undefined
    case (.string(let s), .int(let i)):
      let chars = Array(s)
      let j = i < 0 ? chars.count + i : i
      return chars.indices.contains(j) ? .string(String(chars[j])) : .undefined
    case (.object, .string(let k)), (.namespace, .string(let k)): return value.member(k) ?? .undefined
    case (.undefined, _):
      throw .rendering("\(Self.describe(base)) is undefined, so it has no items", line: line)
    default: return .undefined
    }
  }

  func sliced(_ value: JinjaValue, _ start: Int?, _ stop: Int?, _ step: Int) throws(ChatTemplateError)
    -> JinjaValue
  {
    guard step != 0 else { throw .rendering("a slice step of 0", line: line) }
    func indices(_ count: Int) -> [Int] {
      func clamp(_ i: Int?, _ fallback: Int, low: Int, high: Int) -> Int {
        guard var i else { return fallback }
        if i < 0 { i += count }
        return min(max(i, low), high)
      }
      if step > 0 {
        let (a, b) = (clamp(start, 0, low: 0, high: count), clamp(stop, count, low: 0, high: count))
        return Array(stride(from: a, to: b, by: step))
      }
      let (a, b) = (
        clamp(start, count - 1, low: -1, high: count - 1), clamp(stop, -1, low: -1, high: count - 1)
      )
      return Array(stride(from: a, to: b, by: step))
    }
    switch value {
    case .list(let items): return .list(indices(items.count).map { items[$0] })
    case .string(let s):
      let chars = Array(s)
      return .string(String(indices(chars.count).map { chars[$0] }))
    default: throw .rendering("cannot slice \(value.kind)", line: line)
    }
  }

  func binary(_ op: String, _ l: JinjaValue, _ r: JinjaValue) throws(ChatTemplateError) -> JinjaValue {
    switch op {
    case "==": return .bool(JinjaValue.equal(l, r))
    case "!=": return .bool(!JinjaValue.equal(l, r))
    case "<", ">", "<=", ">=":
      let order: Bool
      if let a = l.number, let b = r.number {
        order = op == "<" ? a < b : op == ">" ? a > b : op == "<=" ? a <= b : a >= b
      } else if case .string(let a) = l, case .string(let b) = r {
        order = op == "<" ? a < b : op == ">" ? a > b : op == "<=" ? a <= b : a >= b
      } else {
        throw .rendering("cannot compare \(l.kind) with \(r.kind)", line: line)
      }
      return .bool(order)
    case "in", "not in":
      let found: Bool
      switch r {
      case .string(let s):
        guard case .string(let needle) = l else {
          throw .rendering("\"in <string>\" needs a string, not \(l.kind)", line: line)
        }
        found = s.contains(needle)
      case .list(let items): found = items.contains { JinjaValue.equal($0, l) }
      case .object, .namespace: found = r.member(l.text) != nil
      case .undefined: found = false  // an undefined value iterates as nothing
      default: throw .rendering("\"in\" \(r.kind)", line: line)
      }
      return .bool(found == (op == "in"))
    case "~": return .string(l.text + r.text)
    case "+":
      switch (l, r) {
      case (.string(let a), .string(let b)): return .string(a + b)
      case (.list(let a), .list(let b)): return .list(a + b)
      case (.int(let a), .int(let b)): return .int(a &+ b)
      default:
        if let a = l.number, let b = r.number { return .double(a + b) }
        throw .rendering("cannot add \(l.kind) and \(r.kind)", line: line)
      }
    case "*":
      if case .string(let s) = l, case .int(let n) = r {
        guard n <= 0 || s.count <= Self.largestCollection / n else {
          throw .rendering(
            "a string repeated \(n) times (at most \(Self.largestCollection) characters)", line: line)
        }
        return .string(String(repeating: s, count: max(n, 0)))
      }
      if case .int(let a) = l, case .int(let b) = r { return .int(a &* b) }
      fallthrough
    default:
      guard let a = l.number, let b = r.number else {
        throw .rendering("cannot apply \(op) to \(l.kind) and \(r.kind)", line: line)
      }
      if case .int(let x) = l, case .int(let y) = r {
        switch op {
        case "-": return .int(x &- y)
        case "//":
          guard y != 0 else { throw .rendering("division by zero", line: line) }
          return .int(Int((Double(x) / Double(y)).rounded(.down)))
        case "%":
          guard y != 0 else { throw .rendering("division by zero", line: line) }
          return .int(((x % y) + y) % y)
        default: break
        }
      }
      switch op {
      case "-": return .double(a - b)
      case "*": return .double(a * b)
      case "/":
        guard b != 0 else { throw .rendering("division by zero", line: line) }
        return .double(a / b)
      case "//": return .double((a / b).rounded(.down))
      case "%": return .double(a - b * (a / b).rounded(.down))
      case "**": return .double(pow(a, b))
      default: throw .rendering("the operator \(op)", line: line)
      }
    }
  }
}
