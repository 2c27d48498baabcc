extension WeightMatrix {
  /// `y[rowRanges[e]] ← x[rowRanges[e]]·W_eᵀ` for every `e` — the compact counterpart of
  /// `groupedGEMM` for a MoE layer's experts (or several projections of the same rows).
  ///
  /// When every range has at most `fewRows` rows (decode), the rows of all the weights
  /// are cut into chunks of about 256 KB and the chunks of every product are shared among
  /// `BLAS.threadCount` workers in one dispatch, so that many small products stream like
  /// one large one; otherwise each product runs on its own, as `multiply` does.
  ///
  /// - Precondition: `Scalar` is `Float`; every weight is `n_e × x.columns`; the ranges
  ///   lie in `x`'s rows; `y` has `x.rows` rows and at least `n_e` columns (a product
  ///   writes the first `n_e`).
  public static func groupedMultiply<Scalar: BLASScalar>(
    _ weights: [WeightMatrix], _ x: Matrix<Scalar>, rowRanges: [Range<Int>], into y: inout Matrix<Scalar>
  ) {
    precondition(Scalar.self == Float.self, "WeightMatrix: products are Float, not \(Scalar.self)")
    precondition(
      weights.count == rowRanges.count
        && zip(weights, rowRanges).allSatisfy {
          $0.columns == x.columns && $0.rows <= y.columns && $1.lowerBound >= 0 && $1.upperBound <= x.rows
        } && y.rows == x.rows,
      "WeightMatrix.groupedMultiply: \(weights.count) weights, \(rowRanges.count) ranges over \(x.rows)×\(x.columns) into \(y.rows)×\(y.columns)"
    )
    let jobs = zip(weights, rowRanges).filter { !$1.isEmpty && $0.rows > 0 }
    guard !jobs.isEmpty else { return }
    let (k, ldy) = (x.columns, y.columns)
    x.withUnsafeBufferPointer { px in
      y.withUnsafeMutableBufferPointer { py in
        let xBase = UnsafeRawPointer(px.baseAddress!).assumingMemoryBound(to: Float.self)
        let yBase = UnsafeMutableRawPointer(py.baseAddress!).assumingMemoryBound(to: Float.self)
        guard jobs.allSatisfy({ $0.1.count <= fewRows }) else {
          for (w, range) in jobs {
            w.multiply(
              m: range.count, x: xBase + range.lowerBound * k, ldx: k, y: yBase + range.lowerBound * ldy,
              ldy: ldy)
          }
          return
        }
        // Chunks of ~256 KB of weights (a multiple of 4 rows keeps the kernel's blocks whole).
        var chunks: [_Chunk] = []
        for (w, range) in jobs {
          let activations = w.quantizedActivations(m: range.count, x: xBase + range.lowerBound * k, ldx: k)
          let rowsPerChunk = Swift.max(4, ((1 << 17) / Swift.max(1, k)) & ~3)
          var start = 0
          while start < w.rows {
            let end = Swift.min(w.rows, start + rowsPerChunk)
            chunks.append(
              _Chunk(
                m: range.count, begin: start, end: end, x: xBase + range.lowerBound * k, weight: w,
                y: yBase + range.lowerBound * ldy, activations: activations))
            start = end
          }
        }
        let workers = Swift.max(1, Swift.min(BLAS.threadCount, chunks.count))
        let all = chunks
        Kernels.concurrentPerform(iterations: workers) { worker in
          // Contiguous runs of chunks per worker: each streams long stretches of memory.
          let share = (all.count + workers - 1) / workers
          for c in all[Swift.min(all.count, worker * share)..<Swift.min(all.count, (worker + 1) * share)] {
            c.weight.fewRows(
              m: c.m, begin: c.begin, end: c.end, x: c.x, ldx: k, y: c.y, ldy: ldy, activations: c.activations
            )
          }
        }
      }
    }
  }

  /// One worker's share of a grouped product: weight rows `begin..<end` against `m` rows.
  private struct _Chunk: @unchecked Sendable {
    let m: Int, begin: Int, end: Int
    let x: UnsafePointer<Float>
    let weight: WeightMatrix
    let y: UnsafeMutablePointer<Float>
    let activations: QuantizedActivations?
  }
}
