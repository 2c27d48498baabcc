import Report

/// Wall-clock timing for benchmarks: every figure is the median over `repetitions` timed
/// batches, each batch long enough (≥ 50 ms) for the clock to be accurate.
struct Timer {
  var repetitions: Int
  let clock = ContinuousClock()

  /// Seconds per call of `body`.
  func median(_ body: () -> Void) -> Double {
    body()  // warm-up: page in the operands, start BLAS's threads
    let iterations = batchSize(body)
    let samples = (0..<repetitions).map { _ in seconds(iterations, body) }
    return samples.sorted()[samples.count / 2]
  }

  /// Seconds per call of `first` and of `second`, timed in alternating batches so that
  /// both see the same machine load.
  func interleaved(_ first: () -> Void, _ second: () -> Void) -> (Double, Double) {
    first()
    second()
    let iterations = batchSize(first)
    var a: [Double] = []
    var b: [Double] = []
    for _ in 0..<repetitions {
      a.append(seconds(iterations, first))
      b.append(seconds(iterations, second))
    }
    return (a.sorted()[a.count / 2], b.sorted()[b.count / 2])
  }

  private func batchSize(_ body: () -> Void) -> Int {
    let once = seconds(1, body)
    return max(1, Int((0.05 / max(once, 1e-9)).rounded(.up)))
  }

  private func seconds(_ iterations: Int, _ body: () -> Void) -> Double {
    let elapsed = clock.measure { for _ in 0..<iterations { body() } }
    return Stopwatch.seconds(in: elapsed) / Double(iterations)
  }
}
