import CKernels
import Dispatch

/// Which vector bodies the C kernels run (chosen at run time from what the processor
/// reports), and a cap on them so that tests can run every body, the portable one too.
public enum Kernels {
  /// A family of kernel bodies, best last.
  public enum Level: Int32, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    /// Plain C, on any processor.
    case portable
    /// AVX2 with FMA.
    case avx2
    /// AVX-512F (with AVX2 and FMA).
    case avx512
    /// AVX-512 with VNNI integer dot products (q8 products quantize the activations).
    case avx512vnni

    /// Whether `a` is a lesser family than `b`.
    public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    /// `portable`, `avx2` or `avx512`.
    public var description: String { ["portable", "avx2", "avx512", "avx512vnni"][Int(rawValue)] }
  }

  /// The bodies in use.
  public static var level: Level { Level(rawValue: mk_kernel_level()) ?? .portable }

  /// The best level this processor can run.
  public static var best: Level { Level(rawValue: mk_best_kernel_level()) ?? .portable }

  /// Every level this processor can run, portable first.
  public static var available: [Level] { Level.allCases.filter { $0 <= best } }

  /// Processor features worth printing beside a benchmark.
  public static var features: [String] {
    var found = ["\(best)"]
    if mk_has_avx512_bf16() != 0 { found.append("avx512_bf16") }
    return found
  }

  /// Runs `body` with the kernels capped at `level`, then restores the cap before it. The cap
  /// holds on the calling thread and on the workers MoEKit's kernels start for it; other
  /// threads keep theirs, so concurrent work elsewhere in the process is unaffected.
  public static func limited<T>(to level: Level, _ body: () throws -> T) rethrows -> T {
    let before = mk_kernel_limit()
    mk_limit_kernels(level.rawValue)
    defer { mk_limit_kernels(before) }
    return try body()
  }

  /// `DispatchQueue.concurrentPerform` whose workers run under the caller's cap.
  static func concurrentPerform(iterations: Int, execute work: @Sendable (Int) -> Void) {
    let cap = mk_kernel_limit()
    DispatchQueue.concurrentPerform(iterations: iterations) { index in
      let own = mk_kernel_limit()
      mk_limit_kernels(cap)
      defer { mk_limit_kernels(own) }
      work(index)
    }
  }
}
