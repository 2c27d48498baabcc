import Foundation

/// A one-line progress bar with the share done and an estimate of the time left, redrawn in
/// place on standard error (at most five times a second, and at the end):
/// `stage [#########.....................] 30 %  ETA 41 s  label`.
public struct ProgressBar: Sendable {
  /// Units of work in all.
  public let total: Int
  /// What the whole bar measures (printed first; may be empty).
  public var stage: String
  /// What is running now (printed last).
  public var label = ""
  /// Units done so far.
  public private(set) var done = 0
  private let start = ContinuousClock.now
  private var drawn: ContinuousClock.Instant?

  /// A bar over `total` units of work.
  public init(total: Int, stage: String = "") {
    self.total = total
    self.stage = stage
  }

  /// Counts one unit done (`label`, when given, becomes the label) and redraws.
  public mutating func advance(label: String? = nil) {
    done += 1
    if let label { self.label = label }
    let now = ContinuousClock.now
    guard done >= total || drawn.map({ now - $0 >= .milliseconds(200) }) ?? true else { return }
    drawn = now
    FileHandle.standardError.write(Data(("\r" + line + String(repeating: " ", count: 12)).utf8))
  }

  /// The bar as drawn: the stage, 30 cells, the percentage, the ETA (the elapsed time per unit
  /// times the units left) and the label.
  public var line: String {
    let elapsed = Stopwatch.seconds(in: ContinuousClock.now - start)
    let eta = done == 0 ? 0 : elapsed / Double(done) * Double(max(0, total - done))
    let width = 30
    let filled = width * min(done, total) / max(1, total)
    let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
    return (stage.isEmpty ? "" : stage + " ")
      + "[\(bar)] \(100 * min(done, total) / max(1, total)) %  ETA \(Int(eta.rounded())) s  \(label)"
  }

  /// Ends the line, so that what is printed next starts on its own.
  public func finish() { FileHandle.standardError.write(Data("\n".utf8)) }
}
