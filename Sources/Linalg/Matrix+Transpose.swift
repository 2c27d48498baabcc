extension Matrix {
  /// A new `columns × rows` matrix with element `(j, i)` equal to this one's `(i, j)`.
  ///
  /// GEMM takes transpose flags, so kernels never need this; it is for building data.
  /// - Complexity: O(rows · columns), in 32 × 32 tiles to stay in cache.
  public var transposed: Matrix {
    let (m, n) = (rows, columns)
    return withUnsafeBufferPointer { source in
      Matrix(rows: n, columns: m) { target in
        let tile = 32
        for i0 in stride(from: 0, to: m, by: tile) {
          for j0 in stride(from: 0, to: n, by: tile) {
            for i in i0..<Swift.min(i0 + tile, m) {
              for j in j0..<Swift.min(j0 + tile, n) {
                (target.baseAddress! + (j * m + i)).initialize(to: source[i * n + j])
              }
            }
          }
        }
      }
    }
  }
}
