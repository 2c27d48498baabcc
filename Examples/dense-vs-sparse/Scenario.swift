/// One configuration the benchmark measures: a MoE layer of gated (SwiGLU) experts beside
/// the dense SwiGLU networks it is compared with.
struct Scenario: Sendable {
  /// `C1` … `C4`.
  var name: String
  /// What the configuration shows.
  var summary: String
  /// Batch sizes measured on the same weights (one for prefill, several for decode).
  var tokenCounts: [Int]
  /// `d`.
  var dimensions: Int
  /// Each routed expert's hidden width `h`.
  var hidden: Int
  /// `E`.
  var experts: Int
  /// `k`.
  var topK: Int
  /// The shared expert's hidden width, if any.
  var sharedHidden: Int?
  /// Decode: the ideal is the bandwidth needed to read the touched weights once.
  var isDecode: Bool
  /// Whether to time the training backward pass too (the C1 shape's backward/forward goal).
  var measuresBackward: Bool

  /// The dense SwiGLU width with the MoE's active FLOPs per token: `k·h (+ shared)`.
  var equalActiveHidden: Int { topK * hidden + (sharedHidden ?? 0) }
  /// The dense SwiGLU width with the MoE's total expert parameters: `E·h (+ shared)`.
  var equalTotalHidden: Int { experts * hidden + (sharedHidden ?? 0) }
  /// Total over active feed-forward FLOPs (the router's `d·E` left out): what sparsity
  /// promises against the dense network of equal total size.
  var flopRatio: Double { Double(equalTotalHidden) / Double(equalActiveHidden) }

  /// Multiply-adds per token of the MoE layer: router, `k` experts and the shared expert.
  var activeMultiplyAddsPerToken: Int { dimensions * experts + 3 * dimensions * equalActiveHidden }

  /// Bytes of weights a batch reads when it touches `distinctExperts` experts: those
  /// experts, the router and the shared expert (Float).
  func touchedWeightBytes(distinctExperts: Int) -> Int {
    4 * (dimensions * experts + 3 * dimensions * (distinctExperts * hidden + (sharedHidden ?? 0)))
  }

  /// The four configurations (C1–C4).
  static let standard: [Scenario] = [
    Scenario(
      name: "C1", summary: "prefill, Mixtral-like: 8 experts, top-2", tokenCounts: [2048], dimensions: 1024,
      hidden: 2816, experts: 8, topK: 2, sharedHidden: nil, isDecode: false, measuresBackward: true),
    Scenario(
      name: "C2", summary: "prefill, fine-grained: 32 experts, top-8, one shared expert", tokenCounts: [2048],
      dimensions: 1024, hidden: 704, experts: 32, topK: 8, sharedHidden: 1408, isDecode: false,
      measuresBackward: false),
    Scenario(
      name: "C3", summary: "decode, the Mixtral-8x7B layer shape", tokenCounts: [1, 8], dimensions: 4096,
      hidden: 14336, experts: 8, topK: 2, sharedHidden: nil, isDecode: true, measuresBackward: false),
    Scenario(
      name: "C4",
      summary: "the article's claim: 16 experts, top-2, against the dense FFN of equal total size",
      tokenCounts: [1024], dimensions: 1024, hidden: 1408, experts: 16, topK: 2, sharedHidden: nil,
      isDecode: false, measuresBackward: false),
  ]

  /// The same four with every size cut down, for a smoke run of a few seconds.
  static let quick: [Scenario] = standard.map { s in
    var q = s
    q.tokenCounts = s.isDecode ? s.tokenCounts : [64]
    q.dimensions = 64
    q.hidden = s.hidden / 32
    q.sharedHidden = s.sharedHidden.map { $0 / 32 }
    return q
  }
}
