/// How much of its attention a layer actually computes.
///
/// - `headFractions`: a mix over input types of the fraction of query heads kept, e.g.
///   ERNIE 4.5's task-adaptive pruning, 85 % of heads for code and 40 % for simple
///   questions, as `[(share: 0.5, fraction: 0.85), (share: 0.5, fraction: 0.4)]`; the
///   expected fraction is `Σ share·fraction`.
/// - `positionFraction`: the fraction of earlier positions each query attends (sparse
///   attention patterns).
/// - `firstSparseLayer`: layers before it are dense (GLM-4's dense-then-sparse hybrid).
///
/// Skipped heads save their score and value work and their share of the query and output
/// projections; keys and values are still computed and cached.
public struct AttentionSparsity: Sendable, Equatable {
  /// `(share of inputs, fraction of heads kept)` pairs; shares sum to 1.
  public var headFractions: [HeadFraction]
  /// The fraction of positions attended, in `(0, 1]`.
  public var positionFraction: Double
  /// The first layer the sparsity applies to.
  public var firstSparseLayer: Int

  /// One input type's share and the fraction of heads it keeps.
  public struct HeadFraction: Sendable, Equatable {
    /// The share of inputs of this type.
    public var share: Double
    /// The fraction of heads kept for it.
    public var fraction: Double

    /// A share of inputs keeping a fraction of heads.
    public init(share: Double, fraction: Double) {
      self.share = share
      self.fraction = fraction
    }
  }

  /// Dense attention everywhere.
  public static let dense = AttentionSparsity(headFractions: [HeadFraction(share: 1, fraction: 1)])

  /// A sparsity pattern (see the type's summary).
  public init(headFractions: [HeadFraction], positionFraction: Double = 1, firstSparseLayer: Int = 0) {
    self.headFractions = headFractions
    self.positionFraction = positionFraction
    self.firstSparseLayer = firstSparseLayer
  }

  /// The expected fraction of heads kept, `Σ share·fraction`.
  public var expectedHeadFraction: Double {
    headFractions.reduce(0) { $0 + $1.share * $1.fraction }
  }
}
