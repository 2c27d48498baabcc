/// A deterministic assignment of weighted jobs to workers: longest job first, each to the
/// worker with the least work so far, ties to the lower worker (LPT scheduling, within
/// 4/3 of the best possible makespan).
struct _GroupSchedule {
  /// `assignments[w]` lists the job indices worker `w` runs, in order.
  let assignments: [[Int]]

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
  }
}
