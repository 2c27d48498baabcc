import Linalg
import MoE

/// A MoE layer whose routed experts live in an `ExpertCache` rather than in memory: the
/// router and the shared expert stay resident, and each forward pass fetches only the
/// experts its tokens chose.
///
/// The output equals `MoELayer`'s (dropless, top-k routing): each token gets
/// `Σ_e w_{t,e} · FFN_e(x_t)`, plus the shared expert.
public struct CachedMoELayer<Scalar: BLASScalar>: Sendable {
  /// Chooses the experts.
  public var router: any Router<Scalar>
  /// The expert every token sees, or `nil`.
  public var sharedExpert: SharedExpert<Scalar>?
  /// This layer's index in the cache's file.
  public var layer: Int

  /// The serving form of `layer`, whose experts are stored as layer `index` of the cache's
  /// file (`ExpertCache.write`).
  public init(_ moe: MoELayer<Scalar>, layer index: Int) {
    precondition(
      moe.capacityFactor == nil, "CachedMoELayer: capacity factors are not supported (dropless only)")
    router = moe.router
    sharedExpert = moe.sharedExpert
    layer = index
  }

  /// The experts `x`'s tokens choose (distinct, sorted), for prefetching: the router run
  /// on `x`.
  public func chosenExperts(_ x: Matrix<Scalar>) -> [Int] {
    Set(router.route(x).assignments.map(\.expert)).sorted()
  }

  /// The layer applied to `x` (`T × d`), fetching each chosen expert from `cache` once.
  ///
  /// - Throws: `CheckpointError` when the cache cannot load an expert.
  public func callAsFunction(_ x: Matrix<Scalar>, cache: inout ExpertCache<Scalar>) throws -> Matrix<Scalar> {
    let decision = router.route(x)
    var byExpert: [Int: [ExpertAssignment<Scalar>]] = [:]
    for a in decision.assignments { byExpert[a.expert, default: []].append(a) }
    var output = Matrix<Scalar>(rows: x.rows, columns: x.columns)
    for expert in byExpert.keys.sorted() {
      let chosen = byExpert[expert]!
      let network = try cache.expert(layer: layer, index: expert)
      output.scatterAddRows(
        network(x.gatheringRows(chosen.map(\.token))), to: chosen.map(\.token), weights: chosen.map(\.weight))
    }
    if let sharedExpert { output.add(sharedExpert(x)) }
    return output
  }
}
