import RealModule

/// Linear warm-up to a peak learning rate, then cosine decay to a floor:
/// `η(s) = η_max · (s + 1)/W` for `s < W`, then
/// `η_min + ½(η_max − η_min)(1 + cos(π · (s − W)/(S − W)))` up to step `S`, and `η_min`
/// after it (Loshchilov & Hutter 2016, SGDR, arXiv 1608.03983; the usual transformer
/// schedule).
public struct WarmupCosineSchedule: Sendable, Equatable {
  /// `η_max`.
  public var peak: Double
  /// `W`, warm-up steps.
  public var warmupSteps: Int
  /// `S`, the step at which the decay ends.
  public var totalSteps: Int
  /// `η_min`.
  public var minimum: Double

  /// A schedule; the floor defaults to a tenth of the peak.
  public init(peak: Double, warmupSteps: Int, totalSteps: Int, minimum: Double? = nil) {
    precondition(
      warmupSteps >= 0 && totalSteps >= warmupSteps,
      "WarmupCosineSchedule: warm-up \(warmupSteps) must be within 0...\(totalSteps) steps")
    self.peak = peak
    self.warmupSteps = warmupSteps
    self.totalSteps = totalSteps
    self.minimum = minimum ?? peak / 10
  }

  /// `η` at 0-based `step`.
  public func learningRate(at step: Int) -> Double {
    if step < warmupSteps { return peak * Double(step + 1) / Double(warmupSteps) }
    guard step < totalSteps, totalSteps > warmupSteps else { return minimum }
    let progress = Double(step - warmupSteps) / Double(totalSteps - warmupSteps)
    return minimum + (peak - minimum) * (1 + Double.cos(Double.pi * progress)) / 2
  }
}
