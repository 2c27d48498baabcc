import RealModule

// Random matrices and the standard weight initialisers. Weights are `out × in`
// (`rows = fan_out`, `columns = fan_in`), as in PyTorch.

extension Matrix {
  /// Elements drawn uniformly from `[low, high)`.
  ///
  /// Pre-specialised for `Xoshiro256StarStar` so that generic callers (layer
  /// initialisers) fill at full speed (measured: `cost-tables`, which initialises about
  /// 600 M weights, went from 56 s to 7 s).
  @_specialize(where Scalar == Float, Generator == Xoshiro256StarStar)
  @_specialize(where Scalar == Double, Generator == Xoshiro256StarStar)
  public static func uniform<Generator: RandomNumberGenerator>(
    rows: Int, columns: Int, low: Scalar = 0, high: Scalar = 1, using generator: inout Generator
  ) -> Matrix {
    precondition(low <= high, "uniform: low \(low) exceeds high \(high)")
    return Matrix(rows: rows, columns: columns) { buffer in
      for i in buffer.indices {
        (buffer.baseAddress! + i).initialize(to: low + (high - low) * generator.nextUniform(Scalar.self))
      }
    }
  }

  /// Elements drawn from the normal distribution `N(mean, standardDeviation²)`.
  ///
  /// Pre-specialised for `Xoshiro256StarStar`, as `uniform` is.
  @_specialize(where Scalar == Float, Generator == Xoshiro256StarStar)
  @_specialize(where Scalar == Double, Generator == Xoshiro256StarStar)
  public static func normal<Generator: RandomNumberGenerator>(
    rows: Int, columns: Int, mean: Scalar = 0, standardDeviation: Scalar = 1, using generator: inout Generator
  ) -> Matrix {
    precondition(standardDeviation >= 0, "normal: standard deviation \(standardDeviation) is negative")
    return Matrix(rows: rows, columns: columns) { buffer in
      for i in buffer.indices {
        (buffer.baseAddress! + i).initialize(
          to: mean + standardDeviation * generator.nextNormal(Scalar.self))
      }
    }
  }

  /// Glorot/Xavier uniform initialisation: `U(−a, a)` with `a = gain·√(6 / (fan_in + fan_out))`
  /// (Glorot & Bengio 2010), so activations keep their variance both ways through a layer.
  public static func glorotUniform(
    rows: Int, columns: Int, gain: Scalar = 1, using generator: inout some RandomNumberGenerator
  ) -> Matrix {
    let limit = gain * Scalar.sqrt(6 / Scalar(Swift.max(1, rows + columns)))
    return uniform(rows: rows, columns: columns, low: -limit, high: limit, using: &generator)
  }

  /// He/Kaiming normal initialisation: `N(0, 2 / fan_in)` (He et al. 2015, arXiv
  /// 1502.01852), for layers followed by ReLU-like activations.
  public static func heNormal(
    rows: Int, columns: Int, using generator: inout some RandomNumberGenerator
  ) -> Matrix {
    normal(
      rows: rows, columns: columns,
      standardDeviation: Scalar.sqrt(2 / Scalar(Swift.max(1, columns))), using: &generator)
  }

  /// A random matrix with orthonormal rows (when `rows ≤ columns`) or columns (otherwise),
  /// times `gain` (Saxe et al. 2013, arXiv 1312.6120): the Q of the QR factorisation of a
  /// Gaussian matrix, with column signs fixed by `R`'s diagonal so that it is uniformly
  /// (Haar) distributed.
  public static func orthogonal(
    rows: Int, columns: Int, gain: Scalar = 1, using generator: inout some RandomNumberGenerator
  ) -> Matrix {
    let tall = rows >= columns
    let (m, n) = tall ? (rows, columns) : (columns, rows)
    let qr = normal(rows: m, columns: n, using: &generator).qrDecomposition()
    var q = qr.q
    for j in 0..<Swift.min(m, n) where qr.r[j, j] < 0 {
      for i in 0..<m { q[i, j] = -q[i, j] }
    }
    q.scale(by: gain)
    return tall ? q : q.transposed
  }
}
