import ArgumentParser
import Linalg
import Report

/// `--threads`, with one name and one meaning in every example program: the threads that
/// OpenBLAS and MoEKit's own kernels may use (`BLAS.threadCount`), in `OptionLimits.threads`;
/// without it, OpenBLAS's own choice (usually one per core).
public struct ThreadsOption: ParsableArguments {
  /// The count given, if any.
  @Option(help: "Threads for BLAS and MoEKit's kernels (1...1024; default: one per core).")
  public var threads: Int?

  /// The option group as ArgumentParser makes it.
  public init() {}

  /// Refuses a count outside `OptionLimits.threads`, naming the option.
  public func validate() throws {
    if let threads { try OptionLimits.check("--threads", threads, in: OptionLimits.threads) }
  }

  /// Sets `BLAS.threadCount` when a count was given.
  public func apply() {
    if let threads { BLAS.threadCount = threads }
  }
}
