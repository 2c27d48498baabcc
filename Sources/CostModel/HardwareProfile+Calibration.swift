import Glibc
import Linalg

extension HardwareProfile {
  /// This machine, measured with `Linalg`: the compute peak is the best of a few 1024³
  /// `sgemm`s and the bandwidth the best of a few 4096² `sgemv`s (each reads 64 MiB, far
  /// more than any cache). A CPU computes bf16 and fp8 weights after converting them to
  /// fp32, so every format gets the fp32 rate.
  ///
  /// - Parameter repetitions: timed runs per figure; the best is kept.
  /// - Complexity: about `repetitions × 0.1` s on a 2-core machine.
  public static func calibrated(repetitions: Int = 5) -> HardwareProfile {
    let clock = ContinuousClock()
    func best(_ body: () -> Void) -> Double {
      body()
      var fastest = Double.infinity
      for _ in 0..<Swift.max(1, repetitions) {
        let (seconds, attoseconds) = clock.measure(body).components
        fastest = Swift.min(fastest, Double(seconds) + Double(attoseconds) * 1e-18)
      }
      return fastest
    }
    var generator = Xoshiro256StarStar(seed: 1)
    let n = 1024
    let a = Matrix<Float>.uniform(rows: n, columns: n, low: -1, high: 1, using: &generator)
    var c = Matrix<Float>(rows: n, columns: n)
    let gemmSeconds = best { gemm(a, a, into: &c) }
    let m = 4096
    let big = Matrix<Float>.uniform(rows: m, columns: m, low: -1, high: 1, using: &generator)
    let x = Matrix<Float>.uniform(rows: m, columns: 1, low: -1, high: 1, using: &generator)
    var y = Matrix<Float>(rows: m, columns: 1)
    let gemvSeconds = best { gemv(big, x, into: &y) }
    let flops = 2 * Double(n * n * n) / gemmSeconds
    let bandwidth = Double(m * m * MemoryLayout<Float>.stride) / gemvSeconds
    let memory = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))
    return HardwareProfile(
      name: "this-machine", peakFLOPS16: flops, peakFLOPS8: nil, peakFLOPS32: flops,
      memoryBandwidth: bandwidth,
      memoryCapacity: memory,
      source: "measured here with Linalg: sgemm 1024³ and sgemv 4096², \(BLAS.threadCount) BLAS threads")
  }
}
