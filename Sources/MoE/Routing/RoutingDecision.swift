import Linalg

/// One token sent to one expert with a combine weight.
public struct ExpertAssignment<Scalar: BLASScalar>: Sendable, Equatable {
  /// Row of the token in the input.
  public var token: Int
  /// The expert it goes to.
  public var expert: Int
  /// The factor the expert's output is multiplied by before it is added to the token.
  public var weight: Scalar
  /// Which of the token's choices this is: 0 for a token's best expert (token-choice
  /// routing), or the token's position in the expert's own ranking (expert-choice routing).
  /// (Called `choice`, not rank, so that "rank" means only an MPI process in MoEDistributed.)
  public var choice: Int

  /// An assignment of `token` to `expert` with `weight` as its `choice`-th choice.
  public init(token: Int, expert: Int, weight: Scalar, choice: Int) {
    self.token = token
    self.expert = expert
    self.weight = weight
    self.choice = choice
  }
}

/// What a router decided for a batch of `T` tokens and `E` experts.
///
/// Token-choice routers list each token's assignments together, best first
/// (`T·k` of them); expert choice lists each expert's, best first.
public struct RoutingDecision<Scalar: BLASScalar>: Sendable {
  /// `T`.
  public var tokenCount: Int
  /// `E`.
  public var expertCount: Int
  /// Every (token, expert, weight) the router chose.
  public var assignments: [ExpertAssignment<Scalar>]
  /// `T × E` router logits (`x·W_gᵀ`, before any noise or bias); all zeros for routers
  /// without a learned gate.
  public var logits: Matrix<Scalar>
  /// `T × E` scores the router chose by, without selection bias: softmax probabilities,
  /// sigmoid scores, or the fixed distribution of a synthetic router. Losses and
  /// diagnostics read this.
  public var probabilities: Matrix<Scalar>
  /// Tokens whose logits held NaN or an infinity: they get no expert at all (their MoE
  /// output is zero, so the residual carries them) rather than a silent default.
  public var nonFiniteTokens: [Int]
  /// The standard normal noise `ε` (`T × E`) a noisy router drew in training, kept for its
  /// backward pass; `nil` otherwise.
  public var sampledNoise: Matrix<Scalar>?

  /// A decision from its parts.
  public init(
    tokenCount: Int, expertCount: Int, assignments: [ExpertAssignment<Scalar>], logits: Matrix<Scalar>,
    probabilities: Matrix<Scalar>, nonFiniteTokens: [Int] = []
  ) {
    precondition(
      logits.shape == (tokenCount, expertCount) && probabilities.shape == (tokenCount, expertCount),
      "RoutingDecision: logits \(logits.rows)×\(logits.columns) and probabilities \(probabilities.rows)×\(probabilities.columns) must be \(tokenCount)×\(expertCount)"
    )
    self.tokenCount = tokenCount
    self.expertCount = expertCount
    self.assignments = assignments
    self.logits = logits
    self.probabilities = probabilities
    self.nonFiniteTokens = nonFiniteTokens
  }

  /// Token `token`'s assignments, in the order the router listed them.
  public func assignments(ofToken token: Int) -> [ExpertAssignment<Scalar>] {
    assignments.filter { $0.token == token }
  }

  /// How many assignments each expert received (`E` counts).
  public var tokensPerExpert: [Int] {
    var counts = [Int](repeating: 0, count: expertCount)
    for a in assignments { counts[a.expert] += 1 }
    return counts
  }

  /// How many tokens received no expert.
  public var tokensWithoutExperts: Int {
    var routed = [Bool](repeating: false, count: tokenCount)
    for a in assignments { routed[a.token] = true }
    return routed.count { !$0 }
  }
}
