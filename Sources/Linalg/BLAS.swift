import COpenBLAS
import Glibc

/// The BLAS library's process-wide settings: its thread pool and build.
///
/// OpenBLAS keeps one thread count for the whole process; changing it while another
/// thread is inside a BLAS call is safe for OpenBLAS but changes that call's neighbours,
/// so set it from one place (a program's start, or `withThreadCount`).
public enum BLAS {
  /// The number of threads OpenBLAS uses for one call. Setting a value below 1 sets 1, one
  /// beyond `Int32.max` sets `Int32.max` (OpenBLAS then caps it at its own maximum).
  public static var threadCount: Int {
    get { Int(openblas_get_num_threads()) }
    set { openblas_set_num_threads(Int32(clamping: Swift.max(1, newValue))) }
  }

  /// The number of processors OpenBLAS sees.
  public static var processorCount: Int { Int(openblas_get_num_procs()) }

  /// OpenBLAS's description of its build (version, target CPU, threading model).
  public static var configuration: String {
    guard let text = openblas_get_config() else { return "unknown" }
    return String(cString: text).trimmingTrailingSpaces()
  }

  /// The core type to give OpenBLAS (`OPENBLAS_CORETYPE`) when its run-time detection
  /// fell back to its generic Prescott (SSE3) kernels on a processor with AVX2 or AVX-512 —
  /// what happens on virtual CPUs whose model it does not know, where sgemm then runs
  /// about 6× below the machine (measured: 35 against 205 GFLOP/s at 1024³) — or `nil`
  /// when OpenBLAS chose well. `SkylakeX` with AVX-512, `Haswell` with AVX2.
  public static var suggestedCoreType: String? {
    guard configuration.contains("Prescott") else { return nil }
    switch Kernels.best {
    case .avx512, .avx512vnni: return "SkylakeX"
    case .avx2: return "Haswell"
    case .portable: return nil
    }
  }

  /// A one-line warning for benchmark output when `suggestedCoreType` is set, else `nil`.
  public static var coreTypeWarning: String? {
    suggestedCoreType.map {
      "warning: OpenBLAS chose its generic Prescott kernels on a processor with \(Kernels.best); BLAS runs several "
        + "times slower than it can. Run with OPENBLAS_CORETYPE=\($0) (scripts/run.sh and scripts/test.sh do)."
    }
  }

  /// Writes `coreTypeWarning` to standard error when there is one: benchmarks call it
  /// first, so that no figure measured on OpenBLAS's generic kernels passes unremarked.
  public static func warnIfGenericKernels() {
    guard let coreTypeWarning else { return }
    let line = Array((coreTypeWarning + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
  }

  /// Runs `body` with BLAS set to `count` threads, then restores the previous count.
  ///
  /// `withThreadCount(1) { … }` is for code that already runs several BLAS calls in
  /// parallel (such as grouped GEMM's concurrent strategy), where BLAS's own threads would
  /// only oversubscribe the cores.
  public static func withThreadCount<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
    let previous = threadCount
    guard previous != count else { return try body() }
    threadCount = count
    defer { threadCount = previous }
    return try body()
  }
}

extension String {
  fileprivate func trimmingTrailingSpaces() -> String {
    var s = Substring(self)
    while s.last == " " { s.removeLast() }
    return String(s)
  }
}
