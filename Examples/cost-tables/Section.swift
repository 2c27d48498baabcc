import Report

/// One titled table of the output, with the formulas and notes that explain it.
struct Section {
  var key: String
  var title: String
  var formulas: [String] = []
  var table: Table
  var numericColumns: Set<String> = []
  var notes: [String] = []

  static func render(_ sections: [Section], _ format: CostTables.OutputFormat) -> String {
    switch format {
    case .markdown:
      return sections.map { section in
        var text = "## \(section.title)\n\n"
        if !section.formulas.isEmpty {
          text += section.formulas.map { "    " + $0 }.joined(separator: "\n") + "\n\n"
        }
        text += section.table.markdown
        if !section.notes.isEmpty {
          text += "\n" + section.notes.map { "- " + $0 }.joined(separator: "\n") + "\n"
        }
        return text
      }.joined(separator: "\n")
    case .csv:
      return sections.map { "# \($0.title)\n" + $0.table.csv }.joined(separator: "\n")
    case .json:
      let members = sections.map { section in
        "  " + JSON.quoted(section.key) + ": {\"title\": " + JSON.quoted(section.title) + ", \"formulas\": ["
          + section.formulas.map(JSON.quoted).joined(separator: ", ") + "], \"rows\": "
          + section.table.jsonRecords(numericColumns: section.numericColumns) + ", \"notes\": ["
          + section.notes.map(JSON.quoted).joined(separator: ", ") + "]}"
      }
      return "{\n" + members.joined(separator: ",\n") + "\n}"
    }
  }
}

/// `n` parameters in billions with two decimals.
func billions(_ n: Int) -> String { Format.fixed(Double(n) / 1e9, 2) }

/// `x` as a percentage with one decimal.
func percent(_ x: Double) -> String { Format.fixed(100 * x, 1) + " %" }
