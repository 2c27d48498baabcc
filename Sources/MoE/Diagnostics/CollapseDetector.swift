/// Watches a layer's load step after step and fires on routing collapse: the two busiest
/// experts taking at least `shareThreshold` of all assignments for `patience` consecutive
/// steps.
///
/// Defaults: 0.75 and 10 steps. With 8 experts and top-2 routing a fair pair holds 25 %,
/// so 75 % means the other six experts share a quarter of the work between them — three
/// times a fair pair's load, for long enough not to be noise.
public struct CollapseDetector: Sendable, Equatable {
  /// The share of assignments the two busiest experts must reach.
  public var shareThreshold: Double
  /// Consecutive steps the share must hold.
  public var patience: Int
  /// Consecutive steps so far at or above the threshold.
  public private(set) var streak = 0
  /// The first step at which the detector fired, if it has.
  public private(set) var firedAt: Int?
  private var step = 0

  /// A detector with the given threshold and patience.
  public init(shareThreshold: Double = 0.75, patience: Int = 10) {
    precondition(
      shareThreshold > 0 && shareThreshold <= 1,
      "CollapseDetector: threshold \(shareThreshold) is outside (0, 1]")
    precondition(patience >= 1, "CollapseDetector: patience \(patience) must be at least 1")
    self.shareThreshold = shareThreshold
    self.patience = patience
  }

  /// Whether it has fired.
  public var hasFired: Bool { firedAt != nil }

  /// The two busiest experts' share of `loads`.
  public static func topTwoShare(_ loads: [Int]) -> Double {
    let total = loads.reduce(0, +)
    guard total > 0 else { return 0 }
    let sorted = loads.sorted(by: >)
    return Double(sorted.prefix(2).reduce(0, +)) / Double(total)
  }

  /// Records one step's per-expert loads; returns whether the detector has fired (now or
  /// before).
  @discardableResult
  public mutating func observe(loads: [Int]) -> Bool {
    streak = Self.topTwoShare(loads) >= shareThreshold ? streak + 1 : 0
    if streak >= patience && firedAt == nil { firedAt = step }
    step += 1
    return hasFired
  }
}
