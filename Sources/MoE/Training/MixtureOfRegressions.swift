import Linalg

/// A synthetic regression task that suits a mixture of experts: `clusters` clusters,
/// each a random linear map of its own; a token is its cluster's centre (drawn from
/// `N(0, 2²)`) plus `N(0, 0.5²)` noise, and its target is its cluster's map
/// (`N(0, 1/d)` entries) applied to it. A router can learn to split the clusters among
/// experts, so balancing, fine-tuning and pruning have something real to preserve.
public struct MixtureOfRegressions<Scalar: BLASScalar>: Sendable {
  /// One `1 × d` centre per cluster.
  public var centres: [Matrix<Scalar>]
  /// One `d × d` map per cluster (`y = x·Mᵀ`).
  public var maps: [Matrix<Scalar>]

  /// A task of `clusters` clusters in `dimensions` features.
  public init(clusters: Int, dimensions d: Int, using g: inout some RandomNumberGenerator) {
    precondition(clusters >= 1 && d >= 1, "MixtureOfRegressions: \(clusters) clusters of \(d) features")
    centres = (0..<clusters).map { _ in Matrix.normal(rows: 1, columns: d, standardDeviation: 2, using: &g) }
    maps = (0..<clusters).map { _ in
      Matrix.normal(rows: d, columns: d, standardDeviation: 1 / Scalar(d).squareRoot(), using: &g)
    }
  }

  /// A batch of `tokens` inputs and their targets (`tokens × d` each), clusters drawn
  /// uniformly.
  public func batch(_ tokens: Int, using g: inout some RandomNumberGenerator) -> (
    x: Matrix<Scalar>, y: Matrix<Scalar>
  ) {
    let d = centres[0].columns
    var x = Matrix<Scalar>.normal(rows: tokens, columns: d, standardDeviation: 0.5, using: &g)
    var y = Matrix<Scalar>(rows: tokens, columns: d)
    for t in 0..<tokens {
      let c = Int(g.next() % UInt64(centres.count))
      x[rows: t..<t + 1].add(centres[c])
      gemm(x[rows: t..<t + 1], maps[c], transposeB: true, into: &y[rows: t..<t + 1])
    }
    return (x, y)
  }
}
