import Foundation

extension JinjaRenderer {
  /// A keyword argument, or the positional one at `index`.
  static func argument(_ name: String, _ index: Int, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)])
    -> JinjaValue?
  {
    kwargs.first { $0.0 == name }?.1 ?? (index < args.count ? args[index] : nil)
  }

  /// `raise_exception`, `namespace`, `range`, `strftime_now`, `dict`.
  func global(_ name: String, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)])
    throws(ChatTemplateError) -> JinjaValue
  {
    switch name {
    case "raise_exception": throw .raised(args.first?.text ?? "")
    case "namespace":
      var values: [String: JinjaValue] = [:]
      if case .object(let pairs)? = args.first { for (k, v) in pairs { values[k] = v } }
      for (k, v) in kwargs { values[k] = v }
      return .namespace(JinjaNamespace(values))
    case "dict": return .object(kwargs.map { ($0.0, $0.1) })
    case "range":
      let bounds = try args.map { (a) throws(ChatTemplateError) -> Int in
        guard case .int(let i) = a else { throw .rendering("range() takes integers", line: line) }
        return i
      }
      let (start, stop, step) =
        bounds.count == 1
        ? (0, bounds[0], 1) : (bounds[0], bounds.count > 1 ? bounds[1] : 0, bounds.count > 2 ? bounds[2] : 1)
      guard step != 0, bounds.count <= 3, !bounds.isEmpty else {
        throw .rendering("range() takes 1 to 3 integers", line: line)
      }
      let count =
        step > 0 ? max(0, (stop - start + step - 1) / step) : max(0, (start - stop - step - 1) / -step)
      guard count <= Self.largestCollection else {
        throw .rendering("range() of \(count) numbers (at most \(Self.largestCollection))", line: line)
      }
      return .list(stride(from: start, to: stop, by: step).map { .int($0) })
    case "strftime_now":
      let formatter = DateFormatter()
      formatter.locale = Locale(identifier: "en_US_POSIX")
      formatter.dateFormat = Self.dateFormat(args.first?.text ?? "")
      return .string(formatter.string(from: Date()))
    default: throw .rendering("\(name) is undefined", line: line)
    }
  }

  /// A `strftime` format as a `DateFormatter` one (the directives templates use).
  static func dateFormat(_ strftime: String) -> String {
    let map: [Character: String] = [
      "d": "dd", "m": "MM", "Y": "yyyy", "y": "yy", "b": "MMM", "B": "MMMM", "H": "HH", "M": "mm", "S": "ss",
      "A": "EEEE", "a": "EEE",
    ]
    var out = ""
    var percent = false
    for c in strftime {
      if percent {
        out += map[c] ?? String(c)
        percent = false
      } else if c == "%" {
        percent = true
      } else if c.isLetter {
        out += "'\(c)'"
      } else {
        out.append(c)
      }
    }
    return out
  }

  /// Python's string and dict methods.
  func call(method: String, on value: JinjaValue, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)])
    throws(ChatTemplateError) -> JinjaValue
  {
    let arg = { (name: String, index: Int) in Self.argument(name, index, args, kwargs) }
    switch (value, method) {
    case (.string(let s), "startswith"), (.string(let s), "endswith"):
      let candidates: [JinjaValue]
      if case .list(let l)? = arg("prefix", 0) {
        candidates = l
      } else {
        candidates = [arg("prefix", 0) ?? .string("")]
      }
      return .bool(
        candidates.contains { method == "startswith" ? s.hasPrefix($0.text) : s.hasSuffix($0.text) })
    case (.string(let s), "split"), (.string(let s), "rsplit"):
      let separator = arg("sep", 0).flatMap { $0.isTrue || $0.text == "" ? $0.text : nil }
      var limit = -1
      if case .int(let n)? = arg("maxsplit", 1) { limit = n }
      return .list(Self.split(s, separator, limit: limit, fromRight: method == "rsplit").map { .string($0) })
    case (.string(let s), "strip"), (.string(let s), "lstrip"), (.string(let s), "rstrip"):
      let chars: Set<Character>? = arg("chars", 0).flatMap {
        if case .string(let c) = $0 { Set(c) } else { nil }
      }
      let strip = { (c: Character) in chars?.contains(c) ?? c.isWhitespace }
      var result = Substring(s)
      if method != "rstrip" { result = result.drop(while: strip) }
      if method != "lstrip" { while let last = result.last, strip(last) { result = result.dropLast() } }
      return .string(String(result))
    case (.string(let s), "upper"): return .string(s.uppercased())
    case (.string(let s), "lower"): return .string(s.lowercased())
    case (.string(let s), "title"): return .string(s.capitalized)
    case (.string(let s), "capitalize"): return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
    case (.string(let s), "replace"):
      return .string(s.replacingOccurrences(of: arg("old", 0)?.text ?? "", with: arg("new", 1)?.text ?? ""))
    case (.string(let s), "find"):
      guard let range = s.range(of: arg("sub", 0)?.text ?? "") else { return .int(-1) }
      return .int(s.distance(from: s.startIndex, to: range.lowerBound))
    case (.string(let s), "count"):
      let needle = arg("sub", 0)?.text ?? ""
      return .int(needle.isEmpty ? s.count + 1 : s.components(separatedBy: needle).count - 1)
    case (.string(let s), "join"):
      guard case .list(let items)? = args.first else { throw .rendering("join() takes a list", line: line) }
      return .string(items.map(\.text).joined(separator: s))
    case (.object(let pairs), "items"): return .list(pairs.map { .list([.string($0.key), $0.value]) })
    case (.object(let pairs), "keys"): return .list(pairs.map { .string($0.key) })
    case (.object(let pairs), "values"): return .list(pairs.map(\.value))
    case (.object, "get"), (.namespace, "get"):
      return value.member(arg("key", 0)?.text ?? "") ?? arg("default", 1) ?? .none
    case (.undefined, _): throw .rendering("the method .\(method)() of an undefined value", line: line)
    default: throw .rendering("\(value.kind) has no method .\(method)()", line: line)
    }
  }

  /// Python's `str.split` (and `rsplit`): on runs of whitespace without a separator (ends
  /// ignored), else on it exactly; at most `limit` splits when `limit ≥ 0`.
  static func split(_ s: String, _ separator: String?, limit: Int, fromRight: Bool) -> [String] {
    guard let separator else {
      guard limit >= 0 else { return s.split(whereSeparator: \.isWhitespace).map(String.init) }
      if fromRight {
        return split(String(s.reversed()), nil, limit: limit, fromRight: false).reversed().map {
          String($0.reversed())
        }
      }
      var parts: [String] = []
      var rest = Substring(s)
      while true {
        rest = rest.drop(while: \.isWhitespace)
        if rest.isEmpty { break }
        if parts.count == limit {
          parts.append(String(rest.reversed().drop(while: \.isWhitespace).reversed()))
          break
        }
        let word = rest.prefix { !$0.isWhitespace }
        parts.append(String(word))
        rest = rest.dropFirst(word.count)
      }
      return parts
    }
    var parts = s.components(separatedBy: separator)
    guard limit >= 0, parts.count > limit + 1 else { return parts }
    if fromRight {
      let head = parts[..<(parts.count - limit)].joined(separator: separator)
      parts = [head] + parts[(parts.count - limit)...]
    } else {
      let tail = parts[limit...].joined(separator: separator)
      parts = Array(parts[..<limit]) + [tail]
    }
    return parts
  }

  /// The filters.
  mutating func filter(
    _ name: String, _ value: JinjaValue, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)]
  )
    throws(ChatTemplateError) -> JinjaValue
  {
    let arg = { (key: String, index: Int) in Self.argument(key, index, args, kwargs) }
    switch name {
    case "length", "count":
      switch value {
      case .string(let s): return .int(s.count)
      case .list(let l): return .int(l.count)
      case .object(let o): return .int(o.count)
      default: throw .rendering("|\(name) of \(value.kind)", line: line)
      }
    case "tojson":
      var indent: Int?
      if case .int(let n)? = arg("indent", 0) { indent = n }
      return .string(value.json(indent: indent))
    case "trim": return try call(method: "strip", on: value, args, [])
    case "upper", "lower", "capitalize", "title":
      return try call(method: name, on: .string(value.text), [], [])
    case "string": return .string(value.text)
    case "safe": return value
    case "join":
      let items = try iterate(value)
      let attribute = arg("attribute", 1)?.text
      let texts = items.map { item in (attribute.flatMap { item.member($0) } ?? item).text }
      return .string(texts.joined(separator: arg("d", 0)?.text ?? ""))
    case "default", "d":
      let fallback = arg("default_value", 0) ?? .string("")
      let boolean = arg("boolean", 1)?.isTrue ?? false
      if case .undefined = value { return fallback }
      return boolean && !value.isTrue ? fallback : value
    case "first": return try iterate(value).first ?? .undefined
    case "last": return try iterate(value).last ?? .undefined
    case "list": return .list(try iterate(value))
    case "reverse":
      if case .string(let s) = value { return .string(String(s.reversed())) }
      return .list(try iterate(value).reversed())
    case "int":
      switch value {
      case .int: return value
      case .double(let d): return .int(Int(d))
      case .bool(let b): return .int(b ? 1 : 0)
      case .string(let s): return .int(Int(s.trimmingCharacters(in: .whitespaces)) ?? 0)
      default: return .int(0)
      }
    case "float": return .double(value.number ?? Double(value.text) ?? 0)
    case "abs":
      switch value {
      case .int(let i): return .int(abs(i))
      case .double(let d): return .double(abs(d))
      default: throw .rendering("|abs of \(value.kind)", line: line)
      }
    case "round":
      guard let d = value.number else { throw .rendering("|round of \(value.kind)", line: line) }
      var digits = 0
      if case .int(let n)? = arg("precision", 0) { digits = n }
      let scale = pow(10.0, Double(digits))
      return .double((d * scale).rounded(.toNearestOrEven) / scale)
    case "replace":
      return .string(
        value.text.replacingOccurrences(of: arg("old", 0)?.text ?? "", with: arg("new", 1)?.text ?? ""))
    case "items":
      guard case .object(let pairs) = value else { throw .rendering("|items of \(value.kind)", line: line) }
      return .list(pairs.map { .list([.string($0.key), $0.value]) })
    case "indent":
      var width = 4
      if case .int(let n)? = arg("width", 0) { width = n }
      let first = arg("first", 1)?.isTrue ?? false
      let blank = arg("blank", 2)?.isTrue ?? false
      let pad = String(repeating: " ", count: width)
      let lines = value.text.components(separatedBy: "\n")
      return .string(
        lines.enumerated().map { i, l in (i == 0 && !first) || (l.isEmpty && !blank) ? l : pad + l }.joined(
          separator: "\n"))
    case "unique":
      var seen: [JinjaValue] = []
      for item in try iterate(value) where !seen.contains(where: { JinjaValue.equal($0, item) }) {
        seen.append(item)
      }
      return .list(seen)
    case "sort":
      let reverse = arg("reverse", 0)?.isTrue ?? false
      let attribute = arg("attribute", 2)?.text
      let items = try iterate(value)
      let sorted = items.sorted { a, b in
        let (x, y) = attribute.map { (a.member($0) ?? .none, b.member($0) ?? .none) } ?? (a, b)
        if let p = x.number, let q = y.number { return reverse ? p > q : p < q }
        return reverse ? x.text > y.text : x.text < y.text
      }
      return .list(sorted)
    case "max", "min", "sum":
      let items = try iterate(value)
      if name == "sum" {
        var total = JinjaValue.int(0)
        for item in items { total = try binary("+", total, item) }
        return total
      }
      let numbers = items.compactMap(\.number)
      guard numbers.count == items.count, let best = name == "max" ? numbers.max() : numbers.min() else {
        return items.first ?? .undefined
      }
      return items[numbers.firstIndex(of: best)!]
    case "wordcount": return .int(value.text.split(whereSeparator: \.isWhitespace).count)
    case "map":
      let items = try iterate(value)
      if let attribute = kwargs.first(where: { $0.0 == "attribute" })?.1.text {
        let fallback = kwargs.first { $0.0 == "default" }?.1
        return .list(items.map { $0.member(attribute) ?? fallback ?? .undefined })
      }
      guard let filterName = args.first?.text, Self.filters.contains(filterName) else {
        throw .rendering("|map needs attribute= or a filter's name", line: line)
      }
      var mapped: [JinjaValue] = []
      for item in items { mapped.append(try filter(filterName, item, Array(args.dropFirst()), [])) }
      return .list(mapped)
    case "selectattr", "rejectattr", "select", "reject":
      let items = try iterate(value)
      let byAttribute = name.hasSuffix("attr")
      let attribute = byAttribute ? args.first?.text ?? "" : ""
      let rest = byAttribute ? Array(args.dropFirst()) : args
      var kept: [JinjaValue] = []
      for item in items {
        let subject = byAttribute ? item.member(attribute) ?? .undefined : item
        let passes =
          try rest.first.map { (t) throws(ChatTemplateError) in
            try test(t.text, subject, Array(rest.dropFirst()))
          } ?? subject.isTrue
        if passes == name.hasPrefix("select") { kept.append(item) }
      }
      return .list(kept)
    default: throw .unsupported("the filter |\(name)", line: line)
    }
  }

  /// The tests.
  func test(_ name: String, _ value: JinjaValue, _ args: [JinjaValue]) throws(ChatTemplateError) -> Bool {
    switch name {
    case "defined": if case .undefined = value { return false } else { return true }
    case "undefined": if case .undefined = value { return true } else { return false }
    case "none": if case .none = value { return true } else { return false }
    case "string": if case .string = value { return true } else { return false }
    case "boolean": if case .bool = value { return true } else { return false }
    case "true": if case .bool(true) = value { return true } else { return false }
    case "false": if case .bool(false) = value { return true } else { return false }
    case "number":
      switch value {
      case .int, .double: return true
      default: return false
      }
    case "integer": if case .int = value { return true } else { return false }
    case "float": if case .double = value { return true } else { return false }
    case "mapping":
      switch value {
      case .object, .namespace: return true
      default: return false
      }
    case "iterable", "sequence":
      switch value {
      case .list, .object, .string: return true
      default: return false
      }
    case "callable": if case .function = value { return true } else { return false }
    case "odd", "even", "divisibleby":
      guard case .int(let i) = value else { throw .rendering("\"is \(name)\" of \(value.kind)", line: line) }
      if name == "divisibleby" {
        guard case .int(let n)? = args.first, n != 0 else {
          throw .rendering("divisibleby needs a non-zero integer", line: line)
        }
        return i % n == 0
      }
      return (abs(i) % 2 == 1) == (name == "odd")
    case "eq", "equalto": return JinjaValue.equal(value, args.first ?? .undefined)
    case "ne": return !JinjaValue.equal(value, args.first ?? .undefined)
    case "lt", "gt", "le", "ge":
      let op = ["lt": "<", "gt": ">", "le": "<=", "ge": ">="][name]!
      return try binary(op, value, args.first ?? .undefined).isTrue
    case "in": return try binary("in", value, args.first ?? .undefined).isTrue
    default: throw .unsupported("the test \"is \(name)\"", line: line)
    }
  }
}
