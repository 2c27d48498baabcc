/// A deterministic assignment of weighted jobs to workers: longest job first, each to the
/// worker with the least work so far, ties to the lower worker (LPT scheduling, within
/// 4/3 of the best possible makespan).
struct _GroupSchedule {
  /// `assignments[w]` lists the job indices worker `w` runs, in order.
  let assignments: [[Int]]
  /// The largest total work of any worker.
  let makespan: Int
  /// The sum of all jobs' work.
  let totalWork: Int
  /// The largest single job.
  let largestJob: Int

  /// Below this many multiply-adds (`m·n·k`) OpenBLAS runs a GEMM on one thread anyway
  /// (`SMP_THRESHOLD_MIN · GEMM_MULTITHREAD_THRESHOLD` = 65536 · 4 in its interface).
  static let blasThreadingThreshold = 65_536 * 4

  init(work: [Int], workers: Int) {
    let workers = Swift.max(1, Swift.min(workers, work.count))
    var load = [Int](repeating: 0, count: workers)
    var assignments = [[Int]](repeating: [], count: workers)
    let order = work.indices.sorted { work[$0] != work[$1] ? work[$0] > work[$1] : $0 < $1 }
    for job in order {
      let w = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
      load[w] += work[job]
      assignments[w].append(job)
    }
    self.assignments = assignments
    self.makespan = load.max() ?? 0
    self.totalWork = work.reduce(0, +)
    self.largestJob = work.max() ?? 0
  }

  /// Whether running the jobs concurrently (one BLAS thread each) should beat running them
  /// one after another with all BLAS threads: yes when the schedule is within 25 % of a
  /// perfect split, or when every job is too small for BLAS to thread by itself.
  var prefersConcurrency: Bool {
    guard assignments.count > 1 else { return false }
    let ideal = Double(totalWork) / Double(assignments.count)
    return Double(makespan) <= 1.25 * ideal || largestJob < Self.blasThreadingThreshold
  }
}
