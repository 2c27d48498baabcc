import Linalg
import MoE

/// Where one rank's kept assignments travel: each destination's rows consecutive (the
/// destinations in rank order, within one by expert, within an expert in the router's
/// order), and how many rows go to and come from every rank.
struct ExchangePlan<Scalar: BLASScalar>: Sendable {
  /// Indices into the decision's assignments, in send order.
  var assignments: [Int] = []
  /// The token of each sent row.
  var tokens: [Int] = []
  /// The combine weight of each sent row.
  var weights: [Scalar] = []
  /// The owner's local index of each sent row's expert.
  var localExperts: [Int] = []
  /// Rows to each rank.
  var sendRows: [Int]
  /// Rows from each rank (what they send this one).
  var receiveRows: [Int] = []

  /// The plan for the kept assignments of `decision` whose tokens lie in `tokens`.
  init(
    _ decision: RoutingDecision<Scalar>, kept: [Bool], tokens range: Range<Int>, placement: ExpertPlacement,
    localIndex: [Int]
  ) {
    sendRows = [Int](repeating: 0, count: placement.rankCount)
    var byExpert = [[Int]](repeating: [], count: placement.expertCount)
    for (i, a) in decision.assignments.enumerated() where kept[i] && range.contains(a.token) {
      byExpert[a.expert].append(i)
    }
    for e in placement.expertsByOwner {
      sendRows[placement.owners[e]] += byExpert[e].count
      for i in byExpert[e] {
        let a = decision.assignments[i]
        assignments.append(i)
        tokens.append(a.token)
        weights.append(a.weight)
        localExperts.append(localIndex[e])
      }
    }
  }
}
