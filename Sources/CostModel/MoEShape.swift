import RealModule

/// A MoE layer's shape: `routedExperts` experts of one `expert` shape, `topK` per token,
/// optional always-on shared experts, a router `d → E`.
public struct MoEShape: Sendable, Equatable {
  /// `E`.
  public var routedExperts: Int
  /// `k`, experts per token.
  public var topK: Int
  /// Each routed expert.
  public var expert: FeedForwardShape
  /// Number of shared experts (DeepSeek's `n_shared_experts`; 0 for none).
  public var sharedExperts: Int
  /// Each shared expert's shape (Qwen2-MoE's shared expert is one wide network:
  /// `sharedExperts = 1` with its own width).
  public var sharedExpert: FeedForwardShape
  /// Whether a learned scalar gate `d → 1` scales the shared expert (Qwen2-MoE).
  public var sharedExpertGate: Bool
  /// Whether the router has one more scalar per expert: DeepSeek-V3's and GLM-4.5's
  /// selection bias (`e_score_correction_bias`, a buffer the checkpoints store).
  public var routerBias: Bool

  /// A MoE shape; shared experts default to the routed expert's shape.
  public init(
    routedExperts: Int, topK: Int, expert: FeedForwardShape, sharedExperts: Int = 0,
    sharedExpert: FeedForwardShape? = nil, sharedExpertGate: Bool = false, routerBias: Bool = false
  ) {
    self.routedExperts = routedExperts
    self.topK = topK
    self.expert = expert
    self.sharedExperts = sharedExperts
    self.sharedExpert = sharedExpert ?? expert
    self.sharedExpertGate = sharedExpertGate
    self.routerBias = routerBias
  }

  /// Router weights for width `d` (and the selection bias, if any).
  public func routerParameters(width d: Int) -> Int { d * routedExperts + (routerBias ? routedExperts : 0) }

  /// Shared experts and their gate for width `d`.
  public func sharedParameters(width d: Int) -> Int {
    sharedExperts * sharedExpert.parameters(width: d) + (sharedExpertGate ? d : 0)
  }

  /// All weights of the layer for width `d`.
  public func totalParameters(width d: Int) -> Int {
    routerParameters(width: d) + routedExperts * expert.parameters(width: d) + sharedParameters(width: d)
  }

  /// The weights one token uses: router, `k` routed experts, shared experts.
  public func activeParameters(width d: Int) -> Int {
    routerParameters(width: d) + topK * expert.parameters(width: d) + sharedParameters(width: d)
  }

  /// The expected number of distinct routed experts a batch of `tokens` tokens touches
  /// when each picks `k` of `E` uniformly at random: `E·(1 − (1 − k/E)^B)`. It sets how
  /// many expert weights a decode step must read.
  public func expectedDistinctExperts(tokens: Int) -> Double {
    let e = Double(routedExperts)
    return e * (1 - Double.pow(1 - Double(topK) / e, Double(tokens)))
  }
}
