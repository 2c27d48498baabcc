/// Wall-clock timing for the examples' measurements.
public enum Stopwatch {
  /// Seconds `body` takes: the median of `repetitions` timed runs after one untimed
  /// warm-up run (which pages operands in and starts BLAS's threads).
  public static func median(repetitions: Int, _ body: () -> Void) -> Double {
    precondition(repetitions >= 1, "Stopwatch.median: \(repetitions) repetitions")
    body()
    let samples = (0..<repetitions).map { _ in seconds(body) }.sorted()
    return samples[samples.count / 2]
  }

  /// Seconds each of `bodies` takes: after one untimed warm-up of each, `repetitions`
  /// rounds that time every body once, in order, so that all of them see the same
  /// moments of a noisy machine; the median of each body's times.
  public static func interleavedMedians(repetitions: Int, _ bodies: [() -> Void]) -> [Double] {
    precondition(repetitions >= 1, "Stopwatch.interleavedMedians: \(repetitions) repetitions")
    for body in bodies { body() }
    var samples = [[Double]](repeating: [], count: bodies.count)
    for _ in 0..<repetitions {
      for (i, body) in bodies.enumerated() { samples[i].append(seconds(body)) }
    }
    return samples.map { $0.sorted()[$0.count / 2] }
  }

  /// Seconds one run of `body` takes.
  public static func seconds(_ body: () -> Void) -> Double {
    seconds(in: ContinuousClock().measure(body))
  }

  /// `duration` in seconds.
  public static func seconds(in duration: Duration) -> Double {
    let (whole, attoseconds) = duration.components
    return Double(whole) + Double(attoseconds) * 1e-18
  }
}
