/// A table of text cells that renders as Markdown (GitHub's pipe tables), padded so that
/// it also reads well in a terminal.
///
/// ```swift
/// var table = Table(header: ["model", "GFLOP/s"], alignments: [.left, .right])
/// table.append(["dense", "1.0"])
/// print(table.markdown)
/// ```
public struct Table: Sendable, Equatable {
  /// How a column's cells line up.
  public enum Alignment: Sendable, Equatable {
    /// Text flush left (`:---`).
    case left
    /// Text flush right (`---:`), for numbers.
    case right
  }

  /// The column titles.
  public var header: [String]
  /// One alignment per column.
  public var alignments: [Alignment]
  /// The rows, each with one cell per column.
  public private(set) var rows: [[String]] = []

  /// An empty table; columns are right-aligned unless `alignments` says otherwise.
  public init(header: [String], alignments: [Alignment]? = nil) {
    precondition(
      alignments == nil || alignments!.count == header.count,
      "Table: \(alignments?.count ?? 0) alignments for \(header.count) columns")
    self.header = header
    self.alignments = alignments ?? Array(repeating: .right, count: header.count)
  }

  /// Adds a row.
  ///
  /// - Precondition: one cell per column.
  public mutating func append(_ row: [String]) {
    precondition(row.count == header.count, "Table: a row of \(row.count) cells for \(header.count) columns")
    rows.append(row)
  }

  /// The table as padded Markdown, one line per row, ending with a newline. A `|` inside
  /// a cell is escaped.
  public var markdown: String {
    let escaped = ([header] + rows).map { $0.map { $0.replacingAll("|", with: "\\|") } }
    let widths = header.indices.map { j in Swift.max(3, escaped.map { $0[j].count }.max() ?? 0) }
    func line(_ cells: [String]) -> String {
      let padded = cells.indices.map { j in
        let gap = String(repeating: " ", count: widths[j] - cells[j].count)
        return alignments[j] == .left ? cells[j] + gap : gap + cells[j]
      }
      return "| " + padded.joined(separator: " | ") + " |"
    }
    let rule = widths.indices.map { j in
      alignments[j] == .left
        ? ":" + String(repeating: "-", count: widths[j] + 1)
        : String(repeating: "-", count: widths[j] + 1) + ":"
    }
    return ([line(escaped[0]), "|" + rule.joined(separator: "|") + "|"] + escaped.dropFirst().map(line))
      .joined(separator: "\n") + "\n"
  }
}

extension Table {
  /// The table as CSV (RFC 4180): a header line, then one line per row; a cell holding a
  /// comma, a quote or a line break is quoted, its quotes doubled.
  public var csv: String {
    func field(_ text: String) -> String {
      guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
      return "\"" + text.replacingAll("\"", with: "\"\"") + "\""
    }
    return ([header] + rows).map { $0.map(field).joined(separator: ",") }.joined(separator: "\n") + "\n"
  }

  /// The rows as JSON objects keyed by the header, as a JSON array. Cells are strings
  /// unless `numericColumns` names their column and they parse as a finite number.
  public func jsonRecords(numericColumns: Set<String> = []) -> String {
    let objects = rows.map { row in
      "{"
        + zip(header, row).map { key, cell in
          let value =
            numericColumns.contains(key) && Double(cell)?.isFinite == true ? cell : JSON.quoted(cell)
          return JSON.quoted(key) + ": " + value
        }.joined(separator: ", ") + "}"
    }
    return "[" + objects.joined(separator: ",\n ") + "]"
  }
}

/// Minimal JSON text helpers.
public enum JSON {
  /// `text` as a JSON string literal, with quotes, backslashes and control characters
  /// escaped as Python's `json.dumps(ensure_ascii=False)` escapes them (`\n`, `\r`, `\t`,
  /// `\b`, `\f`, the other controls as `\u00XX`; all else as it is).
  public static func quoted(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": result += "\\\""
      case "\\": result += "\\\\"
      case "\n": result += "\\n"
      case "\r": result += "\\r"
      case "\t": result += "\\t"
      case "\u{08}": result += "\\b"
      case "\u{0C}": result += "\\f"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result + "\""
  }
}

extension String {
  fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
    var result = ""
    for c in self { if c == target { result += replacement } else { result.append(c) } }
    return result
  }
}
