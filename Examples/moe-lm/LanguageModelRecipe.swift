import Linalg
import MoE

/// One row of the quality-per-FLOP study: the feed-forward of every layer of a small
/// byte-level decoder (the attention stack is the same for every row).
struct LanguageModelRecipe: Sendable {
  /// The row's name in the tables.
  var name: String
  /// The row's name on the command line (`--models`).
  var slug: String
  /// What the article's Table 1 row it scales down is.
  var stands: String
  /// The dense network's hidden width, for a dense row.
  var denseHidden: Int?
  /// Routed experts, their hidden width and experts per token, for a MoE row.
  var experts = 0
  var expertHidden = 0
  var topK = 0
  /// The shared expert's hidden width (DeepSeek-MoE's isolated shared experts, as one).
  var sharedHidden: Int?

  /// Table 1 scaled down: the dense FFN is `4d` wide, the ×10 row `40d`; the MoE rows
  /// hold the same total feed-forward parameters as a dense row; the fine-grained row cuts
  /// the 16 experts into 4 each (64 of `2.5d/4`… here 62 routed plus 2 shared, top-6).
  static func table(dimensions d: Int) -> [LanguageModelRecipe] {
    let dense = 4 * d
    return [
      LanguageModelRecipe(name: "Dense", slug: "dense", stands: "7B dense", denseHidden: dense),
      LanguageModelRecipe(name: "Dense ×10", slug: "dense-x10", stands: "70B dense", denseHidden: 10 * dense),
      LanguageModelRecipe(
        name: "MoE 8×top-2", slug: "moe-8", stands: "8 experts, the 7B row's FFN parameters", experts: 8,
        expertHidden: dense / 8,
        topK: 2),
      LanguageModelRecipe(
        name: "MoE 16×top-2", slug: "moe-16", stands: "16 experts, the 70B row's FFN parameters", experts: 16,
        expertHidden: 10 * dense / 16, topK: 2),
      LanguageModelRecipe(
        name: "fine-grained 62×top-6 + 2 shared", slug: "fine-grained",
        stands: "DeepSeek-MoE: the 16 experts cut in 4, 2 shared",
        experts: 62, expertHidden: 10 * dense / 64, topK: 6, sharedHidden: 2 * (10 * dense / 64)),
    ]
  }

  var isMoE: Bool { denseHidden == nil }

  /// The model, from `seed`: `setup.layers` pre-norm blocks of causal attention (RoPE,
  /// `setup.heads` heads) and this row's feed-forward, byte vocabulary, tied head.
  func model(_ setup: LMSetup, router: RouterChoice = .softmax, routerScale: Float = 1, seed: UInt64)
    -> DecoderModel<Float>
  {
    var g = Xoshiro256StarStar(seed: seed)
    let d = setup.dimensions
    var model = DecoderModel<Float>(
      vocabulary: 256, dimensions: d,
      layout: isMoE ? .allMoE(layers: setup.layers) : .dense(layers: setup.layers),
      denseHiddenDimensions: denseHidden ?? 1, using: &g,
      makeAttention: { _, g in .grouped(MultiHeadAttention(dimensions: d, heads: setup.heads, using: &g)) },
      makeMoE: { _, g in
        let router = router.make(dimensions: d, experts: experts, k: topK, scale: routerScale, using: &g)
        return MoELayer(
          dimensions: d, hiddenDimensions: expertHidden, router: router, sharedHiddenDimensions: sharedHidden,
          using: &g)
      })
    // Embeddings drawn N(0, 1) would swamp the first norm's scale; GPT-2's 0.02 is the usual.
    model.embedding.value.scale(by: 0.02)
    return model
  }

  /// Parameters every token uses: all, less the experts it does not visit.
  func activeParameters(of model: DecoderModel<Float>) -> Int {
    let total = model.parameterCount()
    guard isMoE else { return total }
    let perExpert = 3 * model.dimensions * expertHidden
    return total - model.blocks.count * (experts - topK) * perExpert
  }

  /// Training FLOPs per token: `6 · N_active` for the products (the tied head included,
  /// the embedding lookup not) plus causal attention's `6 · L · d · context` for scores and
  /// values (forward `2·2·d·context/2`, backward twice that).
  func trainingFLOPsPerToken(of model: DecoderModel<Float>, context: Int) -> Double {
    6 * Double(activeParameters(of: model)) + 6 * Double(model.blocks.count * model.dimensions * context)
  }
}

/// The router of a MoE row or a collapse run.
enum RouterChoice: Sendable {
  /// Softmax top-k, renormalised (Mixtral).
  case softmax
  /// Sigmoid scores with a selection bias for the aux-loss-free balancer (DeepSeek-V3).
  case sigmoidWithBias
  /// Expert choice (each expert takes its top tokens; capacity `k`).
  case expertChoice
  /// Noisy top-k (Shazeer et al.).
  case noisy

  func make(dimensions d: Int, experts e: Int, k: Int, scale: Float, using g: inout Xoshiro256StarStar)
    -> any Router<Float>
  {
    var gate = Linear<Float>.routerGate(dimensions: d, expertCount: e, using: &g)
    gate.weight.value.scale(by: scale)
    switch self {
    case .softmax: return TopKSoftmaxRouter(gate: gate, k: k)
    case .sigmoidWithBias: return GroupLimitedRouter(gate: gate, k: k)
    case .expertChoice: return ExpertChoiceRouter(gate: gate, capacityFactor: Double(k))
    case .noisy:
      var router = NoisyTopKRouter<Float>(dimensions: d, expertCount: e, k: k, using: &g)
      router.gate = gate
      return router
    }
  }
}
