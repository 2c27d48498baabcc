import CostModel
import Testing

/// Counts of tiny architectures, each worked out by hand in the comment beside it.
@Suite struct AccountingTests {
  /// V = 10, d = 4, 2 layers, MHA 2 heads × 2, gated FFN 8, RMSNorm, untied.
  static let tinyDense = Architecture(
    name: "tiny", vocabularySize: 10, width: 4, layers: 2, attention: .mha(heads: 2, headDim: 2),
    denseFeedForward: FeedForwardShape(hidden: 8))

  @Test func tinyDenseByHand() {
    let a = Self.tinyDense
    // Attention 4·4·4 = 64; norms 2·4 = 8; FFN 3·4·8 = 96 → 168 per layer.
    #expect(a.totalParameters(layer: 0) == 168)
    // Embedding 40, head 40, final norm 4, 2 layers 336 → 420.
    #expect(a.totalParameters == 420)
    #expect(a.activeParameters == 420)
    #expect(a.activeParametersExcludingEmbeddings == 340)
    // KV cache: 2 layers × 2·2·2 = 16 scalars per token.
    #expect(a.kvCacheBytesPerToken(.bf16) == 32)
    // FLOPs at context 5: head 2·40 = 80; per layer FFN 192 + projections 128 +
    // scores/values 2·2 heads·(2·2)·5 = 80 → 400; total 880.
    #expect(a.forwardFLOPsPerToken(context: 5) == 880)
    #expect(a.trainingFLOPs(tokens: 10, context: 5) == 26_400)
    #expect(a.weightBytes(.int4) == 210)
  }

  @Test func groupedQueryAttentionWithBiasAndNorms() {
    // d = 8, 4 heads × 2, 2 KV heads: q 8·8, k and v 8·4 each, o 8·8 → 192; biases 8 + 4 + 4.
    let plain = AttentionKind.gqa(heads: 4, kvHeads: 2, headDim: 2)
    #expect(plain.parameters(width: 8) == 192)
    #expect(AttentionKind.gqa(heads: 4, kvHeads: 2, headDim: 2, qkvBias: true).parameters(width: 8) == 208)
    let perHead = AttentionKind.grouped(heads: 4, kvHeads: 2, headDim: 2, qkvBias: false, qkNorm: .perHead)
    #expect(perHead.parameters(width: 8) == 196)
    let perProjection = AttentionKind.grouped(
      heads: 4, kvHeads: 2, headDim: 2, qkvBias: false, qkNorm: .perProjection)
    #expect(perProjection.parameters(width: 8) == 204)
    #expect(plain.cachedValuesPerToken == 8)
  }

  @Test func latentAttentionByHand() {
    // d = 8, 2 heads, q rank 4, kv rank 3, nope 2, rope 1, v 2:
    // q: 8·4 + 4 + 4·2·3 = 60; kv: 8·(3+1) + 3 + 3·2·(2+2) = 59; o: 2·2·8 = 32 → 151.
    let mla = AttentionKind.latent(
      heads: 2, qLoRARank: 4, kvLoRARank: 3, nopeHeadDim: 2, ropeHeadDim: 1, vHeadDim: 2)
    #expect(mla.parameters(width: 8) == 151)
    #expect(mla.cachedValuesPerToken == 4)
    // Without q compression: q is 8·2·3 = 48 → 139.
    let lite = AttentionKind.latent(
      heads: 2, qLoRARank: nil, kvLoRARank: 3, nopeHeadDim: 2, ropeHeadDim: 1, vHeadDim: 2)
    #expect(lite.parameters(width: 8) == 139)
  }

  @Test func moeLayerCountsAndDistinctExperts() {
    // d = 4; 8 experts of 3·4·2 = 24, top-2, 1 shared expert of 3·4·6 = 72 with a gate of 4;
    // router 32. Total 32 + 192 + 76 = 300; active 32 + 48 + 76 = 156.
    let moe = MoEShape(
      routedExperts: 8, topK: 2, expert: FeedForwardShape(hidden: 2), sharedExperts: 1,
      sharedExpert: FeedForwardShape(hidden: 6), sharedExpertGate: true)
    #expect(moe.totalParameters(width: 4) == 300)
    #expect(moe.activeParameters(width: 4) == 156)
    // One token touches k experts; B tokens at most E: 8·(1 − (3/4)^B).
    #expect(abs(moe.expectedDistinctExperts(tokens: 1) - 2) < 1e-12)
    #expect(abs(moe.expectedDistinctExperts(tokens: 2) - 3.5) < 1e-12)
    #expect(moe.expectedDistinctExperts(tokens: 1000) > 7.999)
  }

  @Test func layoutAndTiedEmbeddings() {
    let moe = MoEShape(routedExperts: 4, topK: 1, expert: FeedForwardShape(hidden: 2, gated: false))
    let a = Architecture(
      name: "hybrid", vocabularySize: 10, width: 4, layers: 3, attention: .mha(heads: 1, headDim: 4),
      denseFeedForward: FeedForwardShape(hidden: 8, gated: false, bias: true), moe: moe,
      isMoELayer: [false, true, true], normKind: .layer, tiedEmbeddings: true)
    // Attention 64 + LayerNorms 2·8 = 80. Dense FFN 2·4·8 + 8 + 4 = 76. MoE: router 16 +
    // 4 experts of 16 = 80 (active 16 + 16 = 32). Tied: one 40 matrix. Final norm 8.
    #expect(a.totalParameters == 40 + 8 + (80 + 76) + 2 * (80 + 80))
    #expect(a.activeParameters == 40 + 8 + (80 + 76) + 2 * (80 + 32))
    #expect(a.outputHeadParameters == 0)
  }

  @Test func attentionSparsityScalesHeadsAndPositions() {
    var a = Self.tinyDense
    let dense = a.attentionFLOPs(layer: 1, context: 5)
    a.attentionSparsity = AttentionSparsity(
      headFractions: [.init(share: 0.5, fraction: 0.85), .init(share: 0.5, fraction: 0.4)],
      positionFraction: 0.5,
      firstSparseLayer: 1)
    #expect(abs(a.attentionSparsity.expectedHeadFraction - 0.625) < 1e-15)
    #expect(a.attentionFLOPs(layer: 0, context: 5) == dense)  // before the first sparse layer
    // q and o (32 of the 64 weights) ×0.625, k and v kept; scores/values (80) ×0.625×0.5.
    #expect(abs(a.attentionFLOPs(layer: 1, context: 5) - (2 * (32 + 32 * 0.625) + 80 * 0.625 * 0.5)) < 1e-9)
  }

  @Test func rooflineTakesTheSlowerOfComputeAndMemory() {
    let a = Self.tinyDense
    let hardware = HardwareProfile(
      name: "toy", peakFLOPS16: 1000, peakFLOPS8: nil, peakFLOPS32: 100, memoryBandwidth: 100,
      memoryCapacity: 1e9,
      source: "test")
    let p = DecodeProjection(a, on: hardware, batch: 1, context: 5, dataType: .bf16)
    #expect(p.flops == 880)
    // Reads: head 40 + 1 embedding row 4 + final norm 4 + 2·168 layers = 384 scalars, 768
    // bytes, plus the cache 5·32 = 160 bytes.
    #expect(p.bytes == 928)
    #expect(p.seconds == 9.28 && p.isMemoryBound)
    #expect(hardware.peakFLOPS(.fp8) == 1000)
    #expect(
      a.prefillTokensPerSecond(on: hardware, context: 10, dataType: .fp32) == 100
        / a.forwardFLOPsPerToken(context: 5))
  }
}
