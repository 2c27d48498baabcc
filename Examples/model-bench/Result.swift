import Foundation
import Linalg
import Report

/// One run of `model-bench`: speeds, the ideal beside them, memory beside the checkpoint.
struct Result {
  var shape: ModelShape
  var checkpointBytes: Int
  var writeSeconds: Double
  /// GB/s.
  var bandwidth: Double
  var prefillTokensPerSecond: Double
  /// Median seconds of a decode step.
  var decodeSeconds: Double
  var idealSeconds: Double
  var residentBytes: Int
  var heldWeightBytes: Int
  /// Whether the last logits were finite (random weights must not overflow).
  var finite: Bool

  var ratioToIdeal: Double { decodeSeconds / idealSeconds }
  var residentRatio: Double { Double(residentBytes) / Double(checkpointBytes) }

  var text: String {
    var table = Table(header: ["measure", "value", "goal"])
    table.append(["model", "\(shape.name), \(shape.layers) layers, bf16 weights", ""])
    table.append(["kernels", "\(Kernels.features.joined(separator: ", ")); \(BLAS.threadCount) threads", ""])
    table.append([
      "checkpoint", "\(Format.bytes(checkpointBytes)), written in \(Format.fixed(writeSeconds, 1)) s", "",
    ])
    table.append(["streaming bandwidth (256 MB product)", Format.fixed(bandwidth, 1) + " GB/s", ""])
    table.append(["prefill", Format.fixed(prefillTokensPerSecond, 1) + " tokens/s", ""])
    table.append([
      "decode step (median)",
      Format.fixed(decodeSeconds * 1e3, 1) + " ms = "
        + Format.fixed(1 / decodeSeconds, 2) + " tokens/s", "",
    ])
    table.append([
      "bandwidth ideal",
      "\(Format.bytes(shape.decodeStepBytes)) a step → " + Format.fixed(idealSeconds * 1e3, 1) + " ms", "",
    ])
    table.append(["decode ÷ ideal", Format.fixed(ratioToIdeal, 2), "≤ 1.30"])
    table.append([
      "weights held ÷ checkpoint",
      "\(Format.bytes(heldWeightBytes)) → "
        + Format.fixed(Double(heldWeightBytes) / Double(checkpointBytes), 2), "≤ 1.10",
    ])
    table.append([
      "peak resident memory ÷ checkpoint",
      "\(Format.bytes(residentBytes)) → " + Format.fixed(residentRatio, 2),
      "≤ 1.10",
    ])
    if !finite { table.append(["warning", "the logits were not finite", ""]) }
    return table.markdown
  }

  var json: String {
    let fields: [(String, String)] = [
      ("model", JSON.quoted(shape.name)), ("layers", "\(shape.layers)"),
      ("checkpoint_bytes", "\(checkpointBytes)"),
      ("bandwidth_gb_per_s", "\(bandwidth)"), ("prefill_tokens_per_second", "\(prefillTokensPerSecond)"),
      ("decode_step_seconds", "\(decodeSeconds)"), ("ideal_step_seconds", "\(idealSeconds)"),
      ("decode_over_ideal", "\(ratioToIdeal)"), ("resident_bytes", "\(residentBytes)"),
      ("resident_over_checkpoint", "\(residentRatio)"), ("weight_bytes", "\(heldWeightBytes)"),
      ("finite", "\(finite)"), ("kernels", JSON.quoted(Kernels.features.joined(separator: ","))),
    ]
    return "{" + fields.map { "\(JSON.quoted($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
  }
}
