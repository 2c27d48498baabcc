import Linalg
import Report

/// One measurement of `quant-bench`.
struct Row {
  var measure: String
  /// `nil` for Float.
  var format: WeightMatrix.Format?
  var seconds: Double
  /// Decode only: the touched experts' bytes at the measured bandwidth.
  var ideal: Double?
  /// Float's time ÷ this one.
  var speedUp: Double
  /// Prefill rows: the output's relative error against Float.
  var error: Double?
  /// Whole-model rows: the share of positions whose top-1 token is float32's.
  var agreement: Double? = nil

  var formatName: String { format?.rawValue ?? "float32" }

  static func text(_ rows: [Row]) -> String {
    var table = Table(header: [
      "measure", "weights", "ms", "÷ ideal", "speed-up over Float", "error vs Float", "top-1 unchanged",
    ])
    for r in rows {
      table.append([
        r.measure, r.formatName, Format.fixed(r.seconds * 1e3, 2),
        r.ideal.map { Format.fixed(r.seconds / $0, 2) } ?? "",
        Format.fixed(r.speedUp, 2), r.error.map { Format.fixed($0 * 100, 3) + " %" } ?? "",
        r.agreement.map { Format.fixed($0 * 100, 1) + " %" } ?? "",
      ])
    }
    return "kernels: \(Kernels.features.joined(separator: ", ")); \(BLAS.threadCount) threads\n\n"
      + table.markdown
  }

  static func json(_ rows: [Row]) -> String {
    let objects = rows.map { r in
      var fields = [
        "\"measure\": \(JSON.quoted(r.measure))", "\"weights\": \(JSON.quoted(r.formatName))",
        "\"seconds\": \(r.seconds)", "\"speed_up_over_float\": \(r.speedUp)",
      ]
      if let ideal = r.ideal { fields.append("\"over_ideal\": \(r.seconds / ideal)") }
      if let error = r.error { fields.append("\"relative_error\": \(error)") }
      if let agreement = r.agreement { fields.append("\"top1_agreement\": \(agreement)") }
      return "{" + fields.joined(separator: ", ") + "}"
    }
    return "[" + objects.joined(separator: ",\n ") + "]"
  }
}
