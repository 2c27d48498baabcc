import Dispatch

/// Measures how fast this machine streams weights through a product, the baseline of
/// every decode figure ("bytes read ÷ streaming bandwidth"): one pass over a 256 MB Float
/// matrix by the faster of OpenBLAS's `sgemv` and the few-row Float kernel (one row
/// times the matrix transposed), both split over `BLAS.threadCount` threads. Benchmarks
/// call `seconds()` between the steps they time, so both see the same machine.
public final class BandwidthProbe {
  // The values do not change the speed; the size (far beyond any cache) does.
  private let a = Matrix<Float>(rows: 8192, columns: 8192, repeating: 0.5)
  private let x = Matrix<Float>(rows: 8192, columns: 1, repeating: 0.25)
  private let row = Matrix<Float>(rows: 1, columns: 8192, repeating: 0.25)
  private var y = Matrix<Float>(rows: 8192, columns: 1)
  private var product = Matrix<Float>(rows: 1, columns: 8192)

  /// A probe (allocates and touches its 256 MB).
  public init() {}

  /// The bytes one pass reads.
  public var bytes: Int { a.count * MemoryLayout<Float>.size }

  /// Seconds of the faster of one `sgemv` and one few-row product over the matrix.
  public func seconds() -> Double {
    let clock = ContinuousClock()
    var start = clock.now
    gemv(a, x, into: &y)
    let sgemv = clock.now - start
    start = clock.now
    gemm(row, a, transposeB: true, into: &product)
    let fewRows = clock.now - start
    let fastest = Swift.min(sgemv, fewRows).components
    return Double(fastest.seconds) + Double(fastest.attoseconds) * 1e-18
  }

  /// GB/s from the median of `samples` (seconds of `seconds()` calls).
  public func bandwidth(medianOf samples: [Double]) -> Double {
    precondition(!samples.isEmpty, "BandwidthProbe: no samples")
    return Double(bytes) / samples.sorted()[samples.count / 2] / 1e9
  }
}
