import Linalg
import MoE
import Testing
import _TestSupport

/// Decoder blocks and models: cache ≡ recompute through whole models (grouped, windowed
/// and latent attention, dense and MoE layers), greedy generation, the backward pass and
/// the parameter names.
@Suite struct DecoderModelTests {
  /// Three layers: dense + GQA, MoE + windowed GQA, MoE + MLA; tied embeddings.
  static func model(tied: Bool = true, seed: UInt64 = 31) -> DecoderModel<Double> {
    var g = Xoshiro256StarStar(seed: seed)
    return DecoderModel<Double>(
      vocabulary: 13, dimensions: 8, layout: StackLayout(isMoE: [false, true, true]),
      denseHiddenDimensions: 12,
      tiedEmbeddings: tied, using: &g,
      makeAttention: { i, g in
        i == 2
          ? .latent(
            MultiHeadLatentAttention(
              dimensions: 8, heads: 2, queryRank: nil, latentRank: 4, nopeDimensions: 2, ropeDimensions: 2,
              valueDimensions: 3, using: &g))
          : .grouped(
            MultiHeadAttention(dimensions: 8, heads: 4, kvHeads: 2, window: i == 1 ? 3 : nil, using: &g))
      },
      makeMoE: { _, g in
        MoELayer(
          dimensions: 8, hiddenDimensions: 6,
          router: TopKSoftmaxRouter(dimensions: 8, expertCount: 4, k: 2, using: &g), using: &g)
      })
  }

  @Test func decodingOverTheCachesEqualsTheFullForward() {
    let model = Self.model()
    let tokens = [3, 1, 4, 1, 5, 9, 2, 6]
    let full = model.logits(tokens, layout: .single(8))
    var caches = model.makeCaches(capacity: 2)
    var rows = model.decode(Array(tokens[0..<4]), caches: &caches).elements
    for t in 4..<8 { rows += model.decode([tokens[t]], caches: &caches).elements }
    #expect(
      Matrix(rows: 8, columns: 13, elements: rows).isApproximatelyEqual(
        to: full, absoluteTolerance: 1e-12, relativeTolerance: 1e-11))
    #expect(caches.map(\.count) == [8, 8, 8])
    // Per token: GQA 2·2·2 heads' features twice over, MLA r + Dr = 6.
    #expect(caches.map { $0.byteCount / 8 / MemoryLayout<Double>.size } == [8, 8, 6])
  }

  /// Three sequences decoded together — prompts of different lengths prefilled in one step,
  /// then steps where one sequence sits out, then single tokens — give each sequence the
  /// logits it gets decoded alone (the experts run over all sequences' rows together; in
  /// Double the products agree to rounding), and every cache grows by its own tokens only.
  @Test func sequencesDecodedTogetherGetTheirOwnLogits() {
    let model = Self.model()
    let steps: [[[Int]]] = [
      [[3, 1, 4], [1, 5], [9, 2, 6, 5]], [[3], [], [5]], [[8], [9], [7]], [[2], [4], [6]],
    ]
    var alone = (0..<3).map { _ in model.makeCaches(capacity: 2) }
    var together = model.blocks.map { block in (0..<3).map { _ in block.makeCache(capacity: 2) } }
    for step in steps {
      let batched = model.decode(step, layerCaches: &together)
      var row = 0
      for (s, tokens) in step.enumerated() where !tokens.isEmpty {
        let own = model.decode(tokens, caches: &alone[s])
        #expect(
          batched[rows: row..<row + tokens.count].isApproximatelyEqual(
            to: own, absoluteTolerance: 1e-12, relativeTolerance: 1e-11), "sequence \(s)")
        row += tokens.count
      }
      #expect(row == batched.rows)
    }
    #expect(together.map { $0.map(\.count) } == model.blocks.indices.map { _ in [6, 4, 7] })
  }

  @Test func greedyGenerationFeedsBackTheMostLikelyToken() throws {
    let model = Self.model(tied: false)
    let prompt = [2, 7, 1]
    let generated = try model.generate(prompt: prompt, count: 5)
    var sequence = prompt
    for _ in 0..<5 {
      let logits = model.logits(sequence, layout: .single(sequence.count))
      sequence.append(logits[rows: sequence.count - 1..<sequence.count].rowArgmax()[0])
    }
    #expect(generated == Array(sequence.dropFirst(3)))
  }

  @Test(arguments: [true, false])
  func backwardMatchesCentralDifferences(tied: Bool) {
    var model = Self.model(tied: tied)
    // A tied head with a bias, as ERNIE 4.5 has; untied, Granite's multipliers.
    if tied {
      model.tiedHeadBias = Parameter(Reference.randomMatrix(Double.self, rows: 1, columns: 13, seed: 33))
    } else {
      (model.embeddingScale, model.logitScale) = (1.7, 0.4)
      for i in model.blocks.indices {
        model.blocks[i].residualScale = 0.6
        model.blocks[i].feedForward.residualScale = 0.8
      }
    }
    let tokens = [3, 1, 4, 1, 5, 9, 2]
    let layout = SequenceLayout(lengths: [4, 3])
    let r = Reference.randomMatrix(Double.self, rows: 7, columns: 13, seed: 32)
    let errors = GradientCheck.parameterErrors(
      model, projection: r, forward: { $0.logits(tokens, layout: layout) },
      backward: { m, dLogits in
        var context = RoutingContext()
        m.backward(dLogits, cache: m.forwardForTraining(tokens, layout: layout, context: &context).cache)
      })
    #expect(errors.count > 30)
    #expect(errors.contains { $0.0 == "lm_head.bias" } == tied)
    for (name, error) in errors { #expect(error < 1e-6, "\(name)") }
  }

  /// With the embedding and the first block frozen, the backward pass stops above them and
  /// the trainable gradients are exactly those of the full pass.
  @Test func frozenLowerLayersKeepTheTrainableGradientsExact() {
    let tokens = [3, 1, 4, 1, 5, 9, 2]
    let layout = SequenceLayout(lengths: [4, 3])
    var full = Self.model(tied: false)
    var frozen = full
    frozen.setTrainable { !$0.hasPrefix("embed_tokens") && !$0.hasPrefix("layers.0.") }
    let dLogits = Reference.randomMatrix(Double.self, rows: 7, columns: 13, seed: 5)
    var context = RoutingContext()
    full.backward(dLogits, cache: full.forwardForTraining(tokens, layout: layout, context: &context).cache)
    frozen.backward(
      dLogits, cache: frozen.forwardForTraining(tokens, layout: layout, context: &context).cache)
    let expected = Dictionary(
      uniqueKeysWithValues: full.namedParameters.map { ($0.name, $0.parameter.gradient) })
    var compared = 0
    for (name, parameter) in frozen.namedParameters {
      if name.hasPrefix("embed_tokens") || name.hasPrefix("layers.0.") {
        #expect(parameter.gradient == nil, "\(name)")
      } else {
        #expect(parameter.gradient == expected[name]!, "\(name)")
        compared += 1
      }
    }
    #expect(compared > 5)
  }

  /// NaN logits are an error naming the position, never a token chosen from them.
  @Test func nonFiniteLogitsStopGenerationWithAnError() {
    var model = Self.model(tied: false)
    model.head!.weight.value[0, 0] = .nan
    #expect(throws: MoEError.nonFiniteLogits(position: 2)) {
      try model.generate(prompt: [2, 7, 1], count: 3)
    }
  }

  /// A NaN row in a router's gate leaves every token unscorable: generation stops with an
  /// error instead of running the tokens through no expert and answering finite logits.
  @Test func aNaNRouterRowIsAnErrorNotAnUnroutedToken() throws {
    var model = Self.model()
    var g = Xoshiro256StarStar(seed: 5)
    var router = TopKSoftmaxRouter<Double>(dimensions: 8, expertCount: 4, k: 2, using: &g)
    router.gate.weight.value[row: 1] = [Double](repeating: .nan, count: 8)
    let layer = try #require(model.blocks[1].feedForward.moe)
    model.blocks[1].feedForward.feedForward = .moe(
      MoELayer(router: router, experts: layer.experts, sharedExpert: nil, capacityFactor: nil))
    #expect(throws: MoEError.nonFiniteLogits(position: 2)) {
      try model.generate(prompt: [2, 7, 1], count: 3)
    }
  }

  @Test func parametersHaveHuggingFaceNames() {
    var model = Self.model(tied: false)
    let names = Set(model.namedParameters.map(\.name))
    for name in [
      "embed_tokens.weight", "layers.0.input_layernorm.weight", "layers.0.self_attn.q_proj.weight",
      "layers.0.mlp.up.weight", "layers.1.moe.experts.3.down.weight", "layers.2.self_attn.kv_b_proj.weight",
      "norm.weight", "lm_head.weight",
    ] {
      #expect(names.contains(name), "missing \(name)")
    }
    model.zeroGradients()
  }
}

@Suite struct AttentionReadmeTests {
  /// The "Attention and decoder models" snippet of `MoE.docc`, with its printed
  /// values checked.
  @Test func glanceSnippetRuns() throws {
    var rng = Xoshiro256StarStar(seed: 3)
    let attention = MultiHeadAttention<Float>(dimensions: 256, heads: 8, kvHeads: 2, using: &rng)
    let x = Matrix<Float>.normal(rows: 48, columns: 256, using: &rng)
    let y = attention(x, layout: SequenceLayout(lengths: [16, 32]))
    var cache = attention.makeCache()
    for t in 0..<16 { _ = attention.forward(x[rows: t..<t + 1], cache: &cache) }
    #expect(y.shape == (48, 256))
    #expect(cache.byteCount / cache.count == 512)  // 2 (K and V) · 2 heads · 32 · 4 bytes
    let model = DecoderModel<Float>(
      vocabulary: 1000, dimensions: 256, layout: .firstDense(layers: 4, firstDenseLayers: 1),
      denseHiddenDimensions: 1024, using: &rng,
      makeAttention: { layer, g in
        .grouped(
          MultiHeadAttention(
            dimensions: 256, heads: 8, kvHeads: 2, window: layer % 2 == 1 ? 64 : nil, using: &g))
      },
      makeMoE: { _, g in
        MoELayer(
          dimensions: 256, hiddenDimensions: 384,
          router: TopKSoftmaxRouter(dimensions: 256, expertCount: 8, k: 2, using: &g), using: &g)
      })
    let generated = try model.generate(prompt: [1, 2, 3], count: 8)
    #expect(generated.count == 8 && generated.allSatisfy { (0..<1000).contains($0) })
  }
}
