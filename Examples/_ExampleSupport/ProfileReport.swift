import Foundation
import MoE
import Report

/// An `OperationProfile` phase as a table for people: each operation's time per step, its
/// share of the step, the weight bytes it read per step and the rate it read them at, with
/// the time no operation accounts for (allocation, copies, hand-offs between threads) as
/// "other".
public enum ProfileReport {
  /// The table of `phase`, over `steps` steps that took `seconds` in all.
  public static func table(_ profile: OperationProfile, phase: String, steps: Int, seconds: Double) -> Table {
    var table = Table(
      header: ["\(phase) operation", "ms/step", "share", "weights/step", "GB/s"],
      alignments: [.left, .right, .right, .right, .right])
    let perStep = Double(max(steps, 1))
    let entries = profile.entries(of: phase)
    let measured = entries.reduce(0) { $0 + $1.entry.seconds }
    for (name, entry) in entries.sorted(by: { $0.entry.seconds > $1.entry.seconds }) {
      table.append([
        name, Format.fixed(entry.seconds / perStep * 1e3, 3),
        Format.fixed(entry.seconds / seconds * 100, 1) + " %",
        entry.bytes == 0 ? "" : Format.bytes(Int(Double(entry.bytes) / perStep)),
        entry.bytes == 0 ? "" : Format.fixed(Double(entry.bytes) / entry.seconds / 1e9, 1),
      ])
    }
    let other = max(0, seconds - measured)
    table.append([
      "other", Format.fixed(other / perStep * 1e3, 3), Format.fixed(other / seconds * 100, 1) + " %", "", "",
    ])
    table.append(["step", Format.fixed(seconds / perStep * 1e3, 3), "100.0 %", "", ""])
    return table
  }
}
