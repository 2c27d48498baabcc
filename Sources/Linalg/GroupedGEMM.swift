/// How `groupedGEMM` spreads its groups over the cores.
public enum GroupedGEMMStrategy: Sendable, CaseIterable {
  /// `concurrent` when every group is too small for BLAS to thread by itself, and
  /// `sequential` otherwise (see `resolvingAutomatic`).
  case automatic
  /// Groups one after another, each with all of BLAS's threads.
  case sequential
  /// Groups in parallel, one BLAS thread each, assigned largest first to the least
  /// loaded worker (a deterministic schedule).
  case concurrent
}

extension GroupedGEMMStrategy {
  /// Below this many multiply-adds (`m·n·k`) OpenBLAS runs a GEMM on one thread
  /// (`SMP_THRESHOLD_MIN · GEMM_MULTITHREAD_THRESHOLD` = 65536 · 4 in its interface).
  public static let blasThreadingThreshold = 65_536 * 4

  /// What `.automatic` means for groups of `rowCounts` rows, each an `m × inputs` by
  /// `inputs × outputs` product, under `threads` BLAS threads.
  ///
  /// Groups that BLAS would thread by itself gain nothing from running concurrently
  /// (measured by `gemm-bench` on 2 cores: 0.86–1.03× of sequential), so they run one
  /// after another; groups all below `blasThreadingThreshold` would each use one core,
  /// so they run concurrently (1.10–1.16× there).
  public static func resolvingAutomatic(
    rowCounts: [Int], inputs: Int, outputs: Int, threads: Int = BLAS.threadCount
  ) -> GroupedGEMMStrategy {
    let sizes = rowCounts.filter { $0 > 0 }.map { $0 * inputs * outputs }
    let small = (sizes.max() ?? 0) <= blasThreadingThreshold
    return threads > 1 && sizes.count > 1 && small ? .concurrent : .sequential
  }
}

/// Many products that share `A`'s storage and `C`'s, each on its own row block with its
/// own weight matrix, in one call: for every group `g`,
/// `C[rowRanges[g]] ← α·A[rowRanges[g]]·op(weights[g]) + β·C[rowRanges[g]]`.
///
/// This is the kernel of MoE dispatch: with tokens sorted by expert, `rowRanges[e]` is
/// expert `e`'s block and `weights[e]` its `out × in` matrix (`transposeWeights: true`),
/// so each expert costs one GEMM on a contiguous block and nothing is copied.
///
/// - Parameters:
///   - a: `N × k`.
///   - rowRanges: one block of rows per group; blocks may be empty and must not overlap.
///   - weights: one matrix per group, `k × n` (`n × k` when `transposeWeights`).
///   - c: `N × n`; rows outside every block are left as they are.
///   - strategy: see `GroupedGEMMStrategy`. Every strategy computes each group with one
///     `?gemm` call, so results agree to within BLAS's threaded rounding (in practice
///     they are identical).
///   - transposeWeights: whether each weight is read transposed.
///   - alpha: scale of the products (default 1).
///   - beta: scale of the old blocks of `C` (default 0).
/// - Complexity: `Σ_g 2·|rowRanges[g]|·n·k` flops.
public func groupedGEMM<Scalar: BLASScalar>(
  _ a: Matrix<Scalar>, rowRanges: [Range<Int>], weights: [Matrix<Scalar>],
  transposeWeights: Bool = false, alpha: Scalar = 1, beta: Scalar = 0,
  into c: inout Matrix<Scalar>, strategy: GroupedGEMMStrategy = .automatic
) {
  _checkGroups(a, rowRanges: rowRanges, weights: weights, transposeWeights: transposeWeights, c: c)
  let (k, n) = (a.columns, c.columns)
  let active = rowRanges.indices.filter { !rowRanges[$0].isEmpty }
  guard !active.isEmpty, n > 0 else { return }
  let threads = BLAS.threadCount
  let resolved =
    strategy == .automatic
    ? GroupedGEMMStrategy.resolvingAutomatic(
      rowCounts: active.map { rowRanges[$0].count }, inputs: k, outputs: n, threads: threads)
    : strategy
  let concurrent = resolved == .concurrent && threads > 1
  let schedule = _GroupSchedule(work: active.map { rowRanges[$0].count * n * k }, workers: threads)

  c.withUnsafeMutableBufferPointer { pc in
    withExtendedLifetime((a, weights)) {
      let jobs = active.map { g in
        let rows = rowRanges[g]
        return _GEMMJob(
          m: rows.count, n: n, k: k, transposeB: transposeWeights,
          a: a._unsafeBaseAddress + rows.lowerBound * k,
          b: weights[g]._unsafeBaseAddress, ldb: weights[g].columns,
          c: pc.baseAddress! + rows.lowerBound * n)
      }
      if concurrent {
        BLAS.withThreadCount(1) {
          Kernels.concurrentPerform(iterations: schedule.assignments.count) { worker in
            for job in schedule.assignments[worker] { jobs[job].run(alpha: alpha, beta: beta) }
          }
        }
      } else {
        for job in jobs { job.run(alpha: alpha, beta: beta) }
      }
    }
  }
}

/// Checks `groupedGEMM`'s shapes, naming the first group that does not fit.
private func _checkGroups<Scalar: BLASScalar>(
  _ a: Matrix<Scalar>, rowRanges: [Range<Int>], weights: [Matrix<Scalar>],
  transposeWeights: Bool, c: Matrix<Scalar>
) {
  precondition(
    rowRanges.count == weights.count,
    "groupedGEMM: \(rowRanges.count) row ranges but \(weights.count) weight matrices")
  precondition(
    a.rows == c.rows, "groupedGEMM: A \(a.rows)×\(a.columns) and C \(c.rows)×\(c.columns) differ in rows")
  for (g, (rows, w)) in zip(rowRanges, weights).enumerated() {
    let (wk, wn) = transposeWeights ? (w.columns, w.rows) : (w.rows, w.columns)
    precondition(
      wk == a.columns && wn == c.columns,
      "groupedGEMM: group \(g): A \(a.rows)×\(a.columns) · op(W) \(wk)×\(wn) does not fit C \(c.rows)×\(c.columns)"
    )
    precondition(
      rows.lowerBound >= 0 && rows.upperBound <= a.rows,
      "groupedGEMM: group \(g): rows \(rows) out of range for A \(a.rows)×\(a.columns)")
  }
  let sorted = rowRanges.filter { !$0.isEmpty }.sorted { $0.lowerBound < $1.lowerBound }
  for (first, second) in zip(sorted, sorted.dropFirst()) {
    precondition(
      first.upperBound <= second.lowerBound,
      "groupedGEMM: row ranges \(first) and \(second) overlap")
  }
}

/// One group's product on raw row-major pointers; workers run disjoint jobs, which write
/// disjoint row blocks of `C`.
private struct _GEMMJob<Scalar: BLASScalar>: @unchecked Sendable {
  let m: Int, n: Int, k: Int
  let transposeB: Bool
  let a: UnsafePointer<Scalar>
  let b: UnsafePointer<Scalar>
  let ldb: Int
  let c: UnsafeMutablePointer<Scalar>

  func run(alpha: Scalar, beta: Scalar) {
    _gemmUnchecked(
      transposeA: false, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
      a: a, lda: k, b: b, ldb: ldb, beta: beta, c: c, ldc: n)
  }
}
