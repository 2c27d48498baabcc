/// Concrete architectures behind the article's comparison tables.
public enum ReferenceArchitectures {
  /// Llama-2-7B (Touvron et al. 2023, arXiv 2307.09288): 32 layers, d = 4096, 32-head
  /// MHA, SwiGLU 11008, vocabulary 32000; 6.74B parameters.
  public static let llama2_7B = Architecture(
    name: "Dense 7B (Llama-2-7B shape)", vocabularySize: 32000, width: 4096, layers: 32,
    attention: .mha(heads: 32, headDim: 128), denseFeedForward: FeedForwardShape(hidden: 11008))

  /// Llama-2-70B: 80 layers, d = 8192, 64 query heads sharing 8 KV heads, SwiGLU 28672;
  /// 68.98B parameters.
  public static let llama2_70B = Architecture(
    name: "Dense 70B (Llama-2-70B shape)", vocabularySize: 32000, width: 8192, layers: 80,
    attention: .gqa(heads: 64, kvHeads: 8, headDim: 128), denseFeedForward: FeedForwardShape(hidden: 28672))

  /// DeepSeek-MoE 16B as published (Dai et al. 2024, arXiv 2401.06066): 28 layers, the
  /// first dense (SwiGLU 10944), then 64 routed experts of 1408, top-6, plus 2 shared
  /// experts; d = 2048, 16-head MHA, vocabulary 102400; 16.4B total, 2.8B active.
  public static let deepSeekMoE16B = Architecture(
    name: "DeepSeek-MoE 16B (published: 64 experts top-6 + 2 shared)", vocabularySize: 102_400, width: 2048,
    layers: 28, attention: .mha(heads: 16, headDim: 128), denseFeedForward: FeedForwardShape(hidden: 10944),
    moe: MoEShape(routedExperts: 64, topK: 6, expert: FeedForwardShape(hidden: 1408), sharedExperts: 2),
    isMoELayer: [false] + Array(repeating: true, count: 27))

  /// DeepSeek-V3 (arXiv 2412.19437): 61 layers, the first 3 dense (SwiGLU 18432), then
  /// 256 routed experts of 2048, top-8, plus 1 shared expert; d = 7168, MLA with 128
  /// heads (q rank 1536, kv rank 512, nope 128, rope 64, v 128), vocabulary 129280, one
  /// multi-token-prediction module; 671B total, 37B active.
  public static let deepSeekV3 = Architecture(
    name: "DeepSeek-V3", vocabularySize: 129_280, width: 7168, layers: 61,
    attention: .latent(
      heads: 128, qLoRARank: 1536, kvLoRARank: 512, nopeHeadDim: 128, ropeHeadDim: 64, vHeadDim: 128),
    denseFeedForward: FeedForwardShape(hidden: 18432),
    moe: MoEShape(
      routedExperts: 256, topK: 8, expert: FeedForwardShape(hidden: 2048), sharedExperts: 1, routerBias: true),
    isMoELayer: Array(repeating: false, count: 3) + Array(repeating: true, count: 58),
    multiTokenPredictionModules: 1)

  /// `base` with every MoE-eligible layer's feed-forward replaced by `experts` SwiGLU
  /// experts, `topK` per token, the expert width chosen (a multiple of 64) so that the
  /// total comes as close as possible to `totalParameters`. Layers listed dense in
  /// `base` stay dense.
  public static func moeVariant(
    of base: Architecture, name: String, experts: Int, topK: Int, totalParameters: Double,
    keepDenseLayers: Bool = false
  ) -> Architecture {
    var variant = base
    variant.name = name
    variant.isMoELayer = keepDenseLayers ? base.isMoELayer : Array(repeating: true, count: base.layers)
    let d = base.width
    let moeLayers = Double(variant.moeLayers)
    // Everything but the routed experts, with a zero-width expert.
    variant.moe = MoEShape(routedExperts: experts, topK: topK, expert: FeedForwardShape(hidden: 0))
    let fixed = Double(variant.totalParameters)
    let perUnitWidth = moeLayers * Double(experts * 3 * d)
    let hidden = Int(((totalParameters - fixed) / perUnitWidth / 64).rounded()) * 64
    variant.moe = MoEShape(
      routedExperts: experts, topK: topK, expert: FeedForwardShape(hidden: Swift.max(64, hidden)))
    return variant
  }

  /// "MoE 7B (8 experts, top-2)": Llama-2-7B's attention and embeddings with 8 top-2
  /// experts per layer sized for 7B total.
  public static let moe7B = moeVariant(
    of: llama2_7B, name: "MoE 7B (8 experts top-2, Llama-2-7B attention)", experts: 8, topK: 2,
    totalParameters: 7e9)

  /// "MoE 70B (16 experts, top-2)": Llama-2-70B's attention and embeddings with 16 top-2
  /// experts per layer sized for 70B total.
  public static let moe70B = moeVariant(
    of: llama2_70B, name: "MoE 70B (16 experts top-2, Llama-2-70B attention)", experts: 16, topK: 2,
    totalParameters: 70e9)

  /// DeepSeek-MoE 16B as the article describes it — 16 experts, top-2 — on the published
  /// model's attention, embeddings and dense first layer, sized for 16B total.
  public static let deepSeekMoE16BAsDescribed = moeVariant(
    of: deepSeekMoE16B, name: "DeepSeek-MoE 16B (as described: 16 experts top-2)", experts: 16, topK: 2,
    totalParameters: 16e9, keepDenseLayers: true)

  /// The six architectures of Table 1 under exact accounting, in the table's order with
  /// the published DeepSeek-MoE 16B last.
  public static let table1: [Architecture] = [
    llama2_7B, llama2_70B, moe7B, moe70B, deepSeekMoE16BAsDescribed, deepSeekMoE16B,
  ]
}
