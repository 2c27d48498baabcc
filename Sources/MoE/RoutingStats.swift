import Linalg

/// What one MoE forward pass did with its tokens, for diagnostics and balancing.
public struct RoutingStats<Scalar: BLASScalar>: Sendable {
  /// Assignments each expert processed (after capacity drops); `E` counts.
  public var tokensPerExpert: [Int]
  /// Assignments the router made that capacity dropped.
  public var droppedAssignments: Int
  /// The per-expert capacity, or `nil` when the layer is dropless.
  public var capacity: Int?
  /// Mean router probability of each expert over the batch (`P_e` of the Switch loss).
  public var meanProbability: [Scalar]
  /// Tokens that reached no routed expert (expert choice left them out, capacity dropped
  /// all of their assignments, or their logits were not finite).
  public var tokensWithoutExperts: Int
  /// Tokens whose router logits held NaN or an infinity; they were not routed.
  public var nonFiniteTokens: [Int]

  /// Statistics from their parts (a `MoELayer` makes them; this is for tests and
  /// simulations).
  public init(
    tokensPerExpert: [Int], droppedAssignments: Int, capacity: Int?, meanProbability: [Scalar],
    tokensWithoutExperts: Int, nonFiniteTokens: [Int]
  ) {
    self.tokensPerExpert = tokensPerExpert
    self.droppedAssignments = droppedAssignments
    self.capacity = capacity
    self.meanProbability = meanProbability
    self.tokensWithoutExperts = tokensWithoutExperts
    self.nonFiniteTokens = nonFiniteTokens
  }

  /// Total assignments processed.
  public var processedAssignments: Int { tokensPerExpert.reduce(0, +) }

  /// The busiest expert's load over its capacity, or `nil` when dropless.
  public var capacityUse: Double? {
    guard let capacity, capacity > 0 else { return nil }
    return Double(tokensPerExpert.max() ?? 0) / Double(capacity)
  }

  /// Each expert's share of the processed assignments (`f_e`); zeros when none were.
  public var loadFractions: [Double] {
    let total = processedAssignments
    return tokensPerExpert.map { total == 0 ? 0 : Double($0) / Double(total) }
  }
}
