import CKernels

/// `C ← α·A·Wᵀ + β·C` for an `A` of a few rows against a large `W` (`n × k`, row-major):
/// the shape of a decode step, where each token meets an `out × in` weight.
///
/// A BLAS `sgemm` packs `W` before multiplying, which for one to eight rows costs more
/// than the product and moves the weights at a third of `sgemv`'s bandwidth; one `sgemv`
/// per row reads the weights once per row. This kernel (`mk_sgemm_few_rows`, AVX2+FMA
/// with a portable fallback) reads each weight row once for all rows of `A`, and splits
/// `W`'s rows over the BLAS thread count. It also takes single rows: the same speed as
/// `sgemv` when measured alone, and faster inside a MoE decode step, where OpenBLAS's
/// worker threads, still spinning after an `sgemv`, compete with the next expert's
/// product for the cores (`dense-vs-sparse` C3 T = 8 with 2 threads: 233 → 170 ms). `Float._gemm` sends the products that qualify
/// here (`gemm-bench` measures both sides).
enum _FewRowsGEMM {
  /// The most rows of `A` the kernel takes; above this, BLAS's packed GEMM is faster.
  static let maxRows = 8
  /// The fewest weights (`n·k`) worth the kernel; below, BLAS's overhead is negligible.
  static let minimumWeights = 1 << 14
  /// The fewest weights per thread worth splitting the product over threads.
  static let weightsPerThread = 1 << 17

  /// Whether a row-major `gemm` of this shape goes through the kernel.
  static func applies(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int) -> Bool {
    !transposeA && transposeB && m <= maxRows && n * k >= minimumWeights
  }

  /// `C ← α·A·Wᵀ + β·C` (`A` `m × k`, `W` `n × k`, `C` `m × n`, leading dimensions given).
  static func run(
    m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
    w: UnsafePointer<Float>, ldw: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    let workers = Swift.max(1, Swift.min(BLAS.threadCount, n * k / weightsPerThread, n / 2))
    guard workers > 1 else {
      mk_sgemm_few_rows(m, 0, n, k, alpha, a, lda, w, ldw, beta, c, ldc)
      return
    }
    let pointers = _Pointers(a: a, w: w, c: c)
    // Boundaries at multiples of 4 keep the kernel's blocks of weight rows whole.
    let share = (n / workers + 3) & ~3
    Kernels.concurrentPerform(iterations: workers) { worker in
      let begin = Swift.min(n, worker * share)
      let end = worker == workers - 1 ? n : Swift.min(n, begin + share)
      guard begin < end else { return }
      mk_sgemm_few_rows(m, begin, end, k, alpha, pointers.a, lda, pointers.w, ldw, beta, pointers.c, ldc)
    }
  }

  /// The operands, handed to worker threads that write disjoint columns of `C`.
  private struct _Pointers: @unchecked Sendable {
    let a: UnsafePointer<Float>
    let w: UnsafePointer<Float>
    let c: UnsafeMutablePointer<Float>
  }
}
