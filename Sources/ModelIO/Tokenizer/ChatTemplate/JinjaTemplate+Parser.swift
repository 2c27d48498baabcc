extension JinjaTemplate {
  /// A recursive-descent reader of the segments.
  struct Parser {
    let segments: [Segment]
    var position = 0
    /// The tokens of the statement being read, and where in them.
    var tokens: [Token] = []
    var cursor = 0
    var line = 1
    var macros: Set<String> = []
    /// Expressions being read inside one another.
    var nesting = 0

    init(segments: [Segment]) { self.segments = segments }

    // MARK: Statements

    /// Nodes up to one of the statements `enders` (which is left unread), or the end.
    mutating func block(until enders: Set<String>) throws(ChatTemplateError) -> [Node] {
      nesting += enders.isEmpty ? 0 : 1
      defer { nesting -= enders.isEmpty ? 0 : 1 }
      guard nesting <= JinjaRenderer.deepestNesting else {
        throw .syntax("blocks nested more than \(JinjaRenderer.deepestNesting) deep", line: line)
      }
      var nodes: [Node] = []
      while position < segments.count {
        switch segments[position] {
        case .text(let text, let line):
          nodes.append(Node(kind: .text(text), line: line))
          position += 1
        case .output(let tokens, let line):
          start(tokens, line)
          let expression = try self.expression()
          try end()
          nodes.append(Node(kind: .output(expression), line: line))
          position += 1
        case .statement(let tokens, let line):
          guard case .name(let keyword)? = tokens.first else {
            throw .syntax("a tag without a statement", line: line)
          }
          if enders.contains(keyword) { return nodes }
          start(tokens, line)
          cursor = 1
          position += 1
          if let node = try statement(keyword) { nodes.append(node) }
        }
      }
      guard enders.isEmpty else {
        throw .syntax("missing {% \(enders.sorted().joined(separator: " or ")) %}", line: line)
      }
      return nodes
    }

    mutating func start(_ tokens: [Token], _ line: Int) {
      (self.tokens, cursor, self.line) = (tokens, 0, line)
    }

    /// The statement tag that ends a block (`endif`, `else`, …), consumed.
    mutating func closing() throws(ChatTemplateError) -> String {
      guard position < segments.count, case .statement(let tokens, let line) = segments[position],
        case .name(let keyword)? = tokens.first
      else { throw .syntax("a block is never closed", line: line) }
      start(tokens, line)
      cursor = 1
      position += 1
      return keyword
    }

    mutating func statement(_ keyword: String) throws(ChatTemplateError) -> Node? {
      let at = line
      switch keyword {
      case "if":
        var branches: [(Expression, [Node])] = []
        var condition = try expression()
        try end()
        var otherwise: [Node] = []
        while true {
          let body = try block(until: ["elif", "else", "endif"])
          let tag = try closing()
          branches.append((condition, body))
          if tag == "elif" {
            condition = try expression()
            try end()
          } else if tag == "else" {
            try end()
            otherwise = try block(until: ["endif"])
            _ = try closing()
            try end()
            break
          } else {
            try end()
            break
          }
        }
        return Node(kind: .conditional(branches, otherwise: otherwise), line: at)
      case "for":
        var targets: [String] = []
        let parenthesized = accept(.op("("))
        repeat {
          guard case .name(let name)? = next() else {
            throw .syntax("a for loop needs names before \"in\"", line: line)
          }
          targets.append(name)
        } while accept(.op(","))
        if parenthesized { try expect(.op(")")) }
        try expect(.name("in"))
        let iterable = try orExpression()
        let filter = accept(.name("if")) ? try orExpression() : nil
        if accept(.name("recursive")) { throw .unsupported("a recursive for loop", line: line) }
        try end()
        let body = try block(until: ["else", "endfor"])
        var otherwise: [Node] = []
        if try closing() == "else" {
          try end()
          otherwise = try block(until: ["endfor"])
          _ = try closing()
        }
        try end()
        return Node(
          kind: .loop(targets: targets, over: iterable, filter: filter, body: body, otherwise: otherwise),
          line: at)
      case "set":
        guard case .name(let name)? = next() else { throw .syntax("set needs a name", line: line) }
        if accept(.op(".")) {
          guard case .name(let attribute)? = next() else {
            throw .syntax("set needs an attribute after \".\"", line: line)
          }
          try expect(.op("="))
          let value = try expression()
          try end()
          return Node(kind: .assign(targets: [name], attribute: attribute, value), line: at)
        }
        var targets = [name]
        while accept(.op(",")) {
          guard case .name(let more)? = next() else { throw .syntax("set needs names", line: line) }
          targets.append(more)
        }
        if cursor == tokens.count {
          guard targets.count == 1 else { throw .syntax("a set block takes one name", line: line) }
          let body = try block(until: ["endset"])
          _ = try closing()
          try end()
          return Node(kind: .capture(name, body), line: at)
        }
        try expect(.op("="))
        let value = try expression()
        try end()
        return Node(kind: .assign(targets: targets, attribute: nil, value), line: at)
      case "macro":
        guard case .name(let name)? = next() else { throw .syntax("macro needs a name", line: line) }
        try expect(.op("("))
        var parameters: [(String, Expression?)] = []
        while !accept(.op(")")) {
          guard case .name(let parameter)? = next() else {
            throw .syntax("macro parameters are names", line: line)
          }
          parameters.append((parameter, accept(.op("=")) ? try expression() : nil))
          if !accept(.op(",")) {
            try expect(.op(")"))
            break
          }
        }
        try end()
        macros.insert(name)
        let body = try block(until: ["endmacro"])
        _ = try closing()
        try end()
        return Node(kind: .macro(name, parameters: parameters, body: body), line: at)
      case "break":
        try end()
        return Node(kind: .breakLoop, line: at)
      case "continue":
        try end()
        return Node(kind: .continueLoop, line: at)
      case "generation":
        // transformers' marker of assistant tokens: its body renders as it is.
        try end()
        let body = try block(until: ["endgeneration"])
        _ = try closing()
        try end()
        return Node(kind: .conditional([(.literal(.bool(true)), body)], otherwise: []), line: at)
      case "elif", "else", "endif", "endfor", "endset", "endmacro", "endgeneration":
        throw .syntax("{% \(keyword) %} without the block it closes", line: line)
      default:
        throw .unsupported("the {% \(keyword) %} tag", line: line)
      }
    }

    // MARK: Tokens

    mutating func next() -> Token? {
      guard cursor < tokens.count else { return nil }
      defer { cursor += 1 }
      return tokens[cursor]
    }

    func peek(_ offset: Int = 0) -> Token? { cursor + offset < tokens.count ? tokens[cursor + offset] : nil }

    mutating func accept(_ token: Token) -> Bool {
      guard peek() == token else { return false }
      cursor += 1
      return true
    }

    mutating func expect(_ token: Token) throws(ChatTemplateError) {
      guard accept(token) else {
        throw .syntax(
          "expected \(Self.show(token)), found \(peek().map(Self.show) ?? "the end of the tag")", line: line)
      }
    }

    func end() throws(ChatTemplateError) {
      guard cursor == tokens.count else {
        throw .syntax("unexpected \(Self.show(tokens[cursor]))", line: line)
      }
    }

    static func show(_ token: Token) -> String {
      switch token {
      case .name(let n): "\"\(n)\""
      case .string(let s): "the string \"\(s.prefix(20))\""
      case .int(let i): "\(i)"
      case .double(let d): "\(d)"
      case .op(let o): "\"\(o)\""
      }
    }

    // MARK: Expressions

    mutating func expression() throws(ChatTemplateError) -> Expression {
      nesting += 1
      defer { nesting -= 1 }
      guard nesting <= JinjaRenderer.deepestNesting else {
        throw .syntax("expressions nested more than \(JinjaRenderer.deepestNesting) deep", line: line)
      }
      let value = try orExpression()
      guard accept(.name("if")) else { return value }
      let test = try orExpression()
      let otherwise = accept(.name("else")) ? try expression() : nil
      return .conditional(value, test: test, otherwise: otherwise)
    }

    mutating func orExpression() throws(ChatTemplateError) -> Expression {
      var left = try andExpression()
      while accept(.name("or")) { left = .binary("or", left, try andExpression()) }
      return left
    }

    mutating func andExpression() throws(ChatTemplateError) -> Expression {
      var left = try notExpression()
      while accept(.name("and")) { left = .binary("and", left, try notExpression()) }
      return left
    }

    mutating func notExpression() throws(ChatTemplateError) -> Expression {
      guard accept(.name("not")) else { return try comparison() }
      return .unary("not", try expression(nested: { (p) throws(ChatTemplateError) in try p.notExpression() }))
    }

    /// `read` one level deeper, within `JinjaRenderer.deepestNesting`.
    mutating func expression(nested read: (inout Parser) throws(ChatTemplateError) -> Expression)
      throws(ChatTemplateError) -> Expression
    {
      nesting += 1
      defer { nesting -= 1 }
      guard nesting <= JinjaRenderer.deepestNesting else {
        throw .syntax("expressions nested more than \(JinjaRenderer.deepestNesting) deep", line: line)
      }
      return try read(&self)
    }

    mutating func comparison() throws(ChatTemplateError) -> Expression {
      var left = try sum()
      while true {
        if case .op(let op)? = peek(), ["==", "!=", "<", ">", "<=", ">="].contains(op) {
          cursor += 1
          left = .binary(op, left, try sum())
        } else if accept(.name("in")) {
          left = .binary("in", left, try sum())
        } else if peek() == .name("not"), peek(1) == .name("in") {
          cursor += 2
          left = .binary("not in", left, try sum())
        } else {
          return left
        }
      }
    }

    mutating func sum() throws(ChatTemplateError) -> Expression {
      var left = try concatenation()
      while case .op(let op)? = peek(), op == "+" || op == "-" {
        cursor += 1
        left = .binary(op, left, try concatenation())
      }
      return left
    }

    mutating func concatenation() throws(ChatTemplateError) -> Expression {
      var left = try product()
      while accept(.op("~")) { left = .binary("~", left, try product()) }
      return left
    }

    mutating func product() throws(ChatTemplateError) -> Expression {
      var left = try power()
      while case .op(let op)? = peek(), ["*", "/", "//", "%"].contains(op) {
        cursor += 1
        left = .binary(op, left, try power())
      }
      return left
    }

    mutating func power() throws(ChatTemplateError) -> Expression {
      let base = try unary()
      return accept(.op("**")) ? .binary("**", base, try unary()) : base
    }

    mutating func unary() throws(ChatTemplateError) -> Expression {
      if accept(.op("-")) {
        return .unary("-", try expression(nested: { (p) throws(ChatTemplateError) in try p.unary() }))
      }
      if accept(.op("+")) {
        return try expression(nested: { (p) throws(ChatTemplateError) in try p.unary() })
      }
      return try filtered(try postfix(try primary()))
    }

    mutating func primary() throws(ChatTemplateError) -> Expression {
      switch next() {
      case .string(var s)?:
        while case .string(let more)? = peek() {  // adjacent literals join
          s += more
          cursor += 1
        }
        return .literal(.string(s))
      case .int(let i)?: return .literal(.int(i))
      case .double(let d)?: return .literal(.double(d))
      case .name(let n)?:
        switch n {
        case "true", "True": return .literal(.bool(true))
        case "false", "False": return .literal(.bool(false))
        case "none", "None": return .literal(.none)
        default: return .name(n)
        }
      case .op("(")?:
        let inner = try expression()
        if accept(.op(",")) {
          var items = [inner]
          while !accept(.op(")")) {
            items.append(try expression())
            if !accept(.op(",")) {
              try expect(.op(")"))
              break
            }
          }
          return .list(items)
        }
        try expect(.op(")"))
        return inner
      case .op("[")?:
        var items: [Expression] = []
        while !accept(.op("]")) {
          items.append(try expression())
          if !accept(.op(",")) {
            try expect(.op("]"))
            break
          }
        }
        return .list(items)
      case .op("{")?:
        var pairs: [(Expression, Expression)] = []
        while !accept(.op("}")) {
          let key = try expression()
          try expect(.op(":"))
          pairs.append((key, try expression()))
          if !accept(.op(",")) {
            try expect(.op("}"))
            break
          }
        }
        return .dict(pairs)
      case let token?: throw .syntax("unexpected \(Self.show(token))", line: line)
      case nil: throw .syntax("an expression is missing", line: line)
      }
    }

    mutating func postfix(_ base: Expression) throws(ChatTemplateError) -> Expression {
      var value = base
      while true {
        if accept(.op(".")) {
          guard case .name(let name)? = next() else { throw .syntax("a name must follow \".\"", line: line) }
          value = .attribute(value, name)
        } else if accept(.op("[")) {
          var parts: [Expression?] = [nil]
          var isSlice = false
          while !accept(.op("]")) {
            if accept(.op(":")) {
              isSlice = true
              parts.append(nil)
            } else {
              parts[parts.count - 1] = try expression()
            }
          }
          if isSlice {
            guard parts.count <= 3 else { throw .syntax("a slice has at most two colons", line: line) }
            value = .slice(
              value, parts[0], parts.count > 1 ? parts[1] : nil, parts.count > 2 ? parts[2] : nil)
          } else {
            guard let index = parts[0] else { throw .syntax("an empty subscript", line: line) }
            value = .index(value, index)
          }
        } else if accept(.op("(")) {
          let (arguments, keywords) = try callArguments()
          value = .call(value, arguments, keywords)
        } else {
          return value
        }
      }
    }

    /// Arguments after "(" up to and with ")".
    mutating func callArguments() throws(ChatTemplateError) -> ([Expression], [(String, Expression)]) {
      var arguments: [Expression] = []
      var keywords: [(String, Expression)] = []
      while !accept(.op(")")) {
        if case .name(let name)? = peek(), peek(1) == .op("=") {
          cursor += 2
          keywords.append((name, try expression()))
        } else {
          arguments.append(try expression())
        }
        if !accept(.op(",")) {
          try expect(.op(")"))
          break
        }
      }
      return (arguments, keywords)
    }

    mutating func filtered(_ base: Expression) throws(ChatTemplateError) -> Expression {
      var value = base
      while true {
        if accept(.op("|")) {
          guard case .name(let name)? = next() else {
            throw .syntax("a filter name must follow \"|\"", line: line)
          }
          let (arguments, keywords) = accept(.op("(")) ? try callArguments() : ([], [])
          value = .filter(value, name, arguments, keywords)
        } else if accept(.name("is")) {
          let negated = accept(.name("not"))
          guard case .name(let name)? = next() else {
            throw .syntax("a test name must follow \"is\"", line: line)
          }
          var arguments: [Expression] = []
          if accept(.op("(")) {
            arguments = try callArguments().0
          } else if let token = peek(), Self.startsArgument(token) {
            arguments = [try postfix(try primary())]
          }
          value = .test(value, name, arguments, negated: negated)
        } else {
          return value
        }
      }
    }

    /// Whether `token` can start a test's one argument written without parentheses.
    static func startsArgument(_ token: Token) -> Bool {
      switch token {
      case .string, .int, .double: true
      case .name(let n): !["and", "or", "if", "else", "in", "not", "is"].contains(n)
      case .op(let o): o == "[" || o == "{"
      }
    }

    // MARK: Support check

    /// Every filter, test, global and method the nodes use must be one `JinjaRenderer` has.
    func checkNames(_ nodes: [Node]) throws(ChatTemplateError) {
      for node in nodes {
        switch node.kind {
        case .text, .breakLoop, .continueLoop: break
        case .output(let e): try check(e, node.line)
        case .conditional(let branches, let otherwise):
          for (condition, body) in branches {
            try check(condition, node.line)
            try checkNames(body)
          }
          try checkNames(otherwise)
        case .loop(_, let over, let filter, let body, let otherwise):
          try check(over, node.line)
          if let filter { try check(filter, node.line) }
          try checkNames(body)
          try checkNames(otherwise)
        case .assign(_, _, let e): try check(e, node.line)
        case .capture(_, let body): try checkNames(body)
        case .macro(_, let parameters, let body):
          for case (_, let value?) in parameters { try check(value, node.line) }
          try checkNames(body)
        }
      }
    }

    func check(_ e: Expression, _ line: Int) throws(ChatTemplateError) {
      switch e {
      case .literal, .name: break
      case .list(let items): for item in items { try check(item, line) }
      case .dict(let pairs):
        for (k, v) in pairs {
          try check(k, line)
          try check(v, line)
        }
      case .attribute(let base, _): try check(base, line)
      case .index(let a, let b):
        try check(a, line)
        try check(b, line)
      case .slice(let a, let b, let c, let d):
        for part in [a, b, c, d].compactMap({ $0 }) { try check(part, line) }
      case .call(let callee, let arguments, let keywords):
        switch callee {
        case .name(let name) where !JinjaRenderer.globals.contains(name) && !macros.contains(name):
          throw .unsupported("the function \(name)()", line: line)
        case .attribute(let base, let method):
          guard JinjaRenderer.methods.contains(method) else {
            throw .unsupported("the method .\(method)()", line: line)
          }
          try check(base, line)
        default: try check(callee, line)
        }
        for a in arguments + keywords.map(\.1) { try check(a, line) }
      case .filter(let base, let name, let arguments, let keywords):
        guard JinjaRenderer.filters.contains(name) else {
          throw .unsupported("the filter |\(name)", line: line)
        }
        try check(base, line)
        for a in arguments + keywords.map(\.1) { try check(a, line) }
      case .test(let base, let name, let arguments, _):
        guard JinjaRenderer.tests.contains(name) else {
          throw .unsupported("the test \"is \(name)\"", line: line)
        }
        try check(base, line)
        for a in arguments { try check(a, line) }
      case .unary(_, let a): try check(a, line)
      case .binary(_, let a, let b):
        try check(a, line)
        try check(b, line)
      case .conditional(let a, let test, let otherwise):
        try check(a, line)
        try check(test, line)
        if let otherwise { try check(otherwise, line) }
      }
    }
  }
}
