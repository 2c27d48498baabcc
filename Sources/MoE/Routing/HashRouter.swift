import Linalg

/// Hash routing: a fixed, random map from vocabulary id to expert, drawn once from a seed
/// and never learned. Token `t` with id `v` goes to experts `(h(v) + r) mod E` for
/// `r = 0..<k` with equal weights `1/k`.
///
/// Needs the tokens' ids in `RoutingContext.tokenIDs`. `logits` in the decision are
/// zeros and `probabilities` put `1/k` on each chosen expert.
///
/// ### References
/// Roller et al. 2021, "Hash Layers For Large Sparse Models", arXiv 2106.04426 (the
/// random-hash variant).
public struct HashRouter<Scalar: BLASScalar>: Router {
  /// `h`: the expert of every vocabulary id.
  public let table: [Int]
  /// `E`.
  public let expertCount: Int
  /// Experts per token when a call does not say.
  public var defaultK: Int

  /// A router over `expertCount` experts for ids in `0..<vocabularySize`, its table drawn
  /// uniformly from a generator seeded with `seed`.
  public init(expertCount: Int, vocabularySize: Int, k: Int = 1, seed: UInt64) {
    precondition(expertCount >= 1 && vocabularySize >= 1, "HashRouter: needs at least one expert and one id")
    var generator = Xoshiro256StarStar(seed: seed)
    self.table = (0..<vocabularySize).map { _ in Int(generator.next() % UInt64(expertCount)) }
    self.expertCount = expertCount
    self.defaultK = k
    _checkK(k)
  }

  /// The hash routing of the tokens whose ids are in `context.tokenIDs`; `x` supplies
  /// only the token count.
  ///
  /// - Precondition: `context.tokenIDs` holds `x.rows` ids within the vocabulary.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func route(_ x: Matrix<Scalar>, k: Int, context: inout RoutingContext) -> RoutingDecision<Scalar> {
    _checkK(k)
    guard let ids = context.tokenIDs, ids.count == x.rows else {
      preconditionFailure(
        "HashRouter: RoutingContext.tokenIDs must hold one id per token (\(x.rows)), has \(context.tokenIDs?.count ?? 0)"
      )
    }
    var probabilities = Matrix<Scalar>(rows: x.rows, columns: expertCount)
    var assignments: [ExpertAssignment<Scalar>] = []
    assignments.reserveCapacity(x.rows * k)
    let weight = 1 / Scalar(k)
    for (t, id) in ids.enumerated() {
      precondition(id >= 0 && id < table.count, "HashRouter: token id \(id) is outside 0..<\(table.count)")
      for r in 0..<k {
        let e = (table[id] + r) % expertCount
        assignments.append(ExpertAssignment(token: t, expert: e, weight: weight, choice: r))
        probabilities[t, e] = weight
      }
    }
    return RoutingDecision(
      tokenCount: x.rows, expertCount: expertCount, assignments: assignments,
      logits: Matrix(rows: x.rows, columns: expertCount), probabilities: probabilities)
  }

  /// No parameters, nothing to learn: `∂L/∂x = 0`.
  public mutating func backward(
    _ x: Matrix<Scalar>, decision: RoutingDecision<Scalar>, gradient: RoutingGradient<Scalar>
  ) -> Matrix<Scalar> {
    Matrix(rows: x.rows, columns: x.columns)
  }

  /// No parameters.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {}
}
