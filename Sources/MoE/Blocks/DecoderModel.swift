import Linalg

/// A decoder-only language model: token embedding, `DecoderBlock`s, a final RMSNorm and a
/// linear head to vocabulary logits (tied to the embedding unless it has its own), with
/// greedy generation over per-layer KV caches.
///
/// Shapes: tokens are ids in `0..<vocabulary`; logits are `T × vocabulary`. Hugging Face
/// names: `embed_tokens.weight`, `layers.{i}.*`, `norm.weight`, `lm_head.weight`.
public struct DecoderModel<Scalar: BLASScalar>: Sendable, ParameterContainer {
  /// `vocabulary × d`.
  public var embedding: Parameter<Scalar>
  /// The layers, first to last.
  public var blocks: [DecoderBlock<Scalar>]
  /// The norm after the last layer.
  public var finalNorm: Normalization<Scalar>
  /// The output projection (`vocabulary × d`), or `nil` to reuse `embedding`.
  public var head: Linear<Scalar>?
  /// The factor on the embedded tokens (Granite's `embedding_multiplier`; 1 elsewhere).
  public var embeddingScale: Scalar = 1
  /// The factor on the logits (Granite's `1/logits_scaling`; 1 elsewhere).
  public var logitScale: Scalar = 1
  /// The bias (`1 × vocabulary`) added to a tied head's logits (ERNIE 4.5's `lm_head.bias`
  /// beside a tied `lm_head.weight`), or `nil`. A separate `head` carries its own bias.
  public var tiedHeadBias: Parameter<Scalar>? {
    didSet {
      precondition(
        tiedHeadBias == nil || (head == nil && tiedHeadBias!.value.shape == (1, vocabulary)),
        "DecoderModel: a tied-head bias must be 1×\(vocabulary) on a model without its own head")
    }
  }

  /// A model from its parts.
  public init(
    embedding: Matrix<Scalar>, blocks: [DecoderBlock<Scalar>], finalNorm: Normalization<Scalar>,
    head: Linear<Scalar>?
  ) {
    precondition(
      head == nil || (head!.outputDimensions == embedding.rows && head!.inputDimensions == embedding.columns),
      "DecoderModel: head \(head!.outputDimensions)×\(head!.inputDimensions) for embedding \(embedding.rows)×\(embedding.columns)"
    )
    self.embedding = Parameter(embedding)
    self.blocks = blocks
    self.finalNorm = finalNorm
    self.head = head
  }

  /// A randomly initialised model: `layout` says which layers are MoE (from `makeMoE`)
  /// and which dense (gated, `denseHiddenDimensions` wide); `makeAttention` gives each
  /// layer its attention (so a hybrid stack can window some layers and not others).
  public init<Generator: RandomNumberGenerator>(
    vocabulary: Int, dimensions: Int, layout: StackLayout, denseHiddenDimensions: Int,
    tiedEmbeddings: Bool = true, using generator: inout Generator,
    makeAttention: (Int, inout Generator) -> AttentionSublayer<Scalar>,
    makeMoE: (Int, inout Generator) -> MoELayer<Scalar>
  ) {
    let embedding = Matrix<Scalar>.normal(rows: vocabulary, columns: dimensions, using: &generator)
    let stack = BlockStack<Scalar>(
      layout: layout, dimensions: dimensions, denseHiddenDimensions: denseHiddenDimensions, using: &generator,
      makeMoE: makeMoE)
    let blocks = stack.blocks.enumerated().map { i, block in
      DecoderBlock(
        attentionNorm: Normalization(rmsDimensions: dimensions), attention: makeAttention(i, &generator),
        feedForward: block)
    }
    let head =
      tiedEmbeddings
      ? nil
      : Linear<Scalar>(
        inputDimensions: dimensions, outputDimensions: vocabulary, bias: false, using: &generator)
    self.init(
      embedding: embedding, blocks: blocks, finalNorm: Normalization(rmsDimensions: dimensions), head: head)
  }

  /// Token ids accepted.
  public var vocabulary: Int { embedding.value.rows }

  /// Bytes of every weight the model holds: its `Scalar` parameters, plus the compact
  /// weights of layers that hold one (which no `Parameter` carries).
  public var weightBytes: Int {
    var copy = self
    var scalars = 0
    copy.visitParameters(prefix: "") { _, parameter in scalars += parameter.count }
    return scalars * MemoryLayout<Scalar>.size + linears.reduce(0) { $0 + ($1.compactWeight?.byteCount ?? 0) }
  }

  /// This model with every product weight — attention projections (but MLA's `kv_b_proj`,
  /// which the absorbed decode reads directly), dense networks, experts, shared experts
  /// and the head — held in `format` (`nil`: back to `Float`). Embeddings, norms, routers
  /// and biases stay `Float`. `integerDotProducts` is set on every new compact weight.
  public func convertingWeights(to format: WeightMatrix.Format?, integerDotProducts: Bool = true)
    -> DecoderModel
  where Scalar == Float {
    mappingProjections { layer, readInPlace in
      readInPlace ? layer : layer.converted(to: format, integerDotProducts: integerDotProducts)
    }
  }

  /// Every projection of the model: attention, feed-forward and experts, the head.
  var linears: [Linear<Scalar>] {
    var all: [Linear<Scalar>] = []
    _ = mappingProjections { layer, _ in
      all.append(layer)
      return layer
    }
    return all
  }

  /// This model with `transform` applied to every projection, in one walk over attention
  /// (MLA's `kv_b_proj` flagged as read in place by the absorbed decode), feed-forward
  /// networks, experts, shared experts and the head.
  func mappingProjections(_ transform: (Linear<Scalar>, _ readInPlace: Bool) -> Linear<Scalar>)
    -> DecoderModel
  {
    var model = self
    func network(_ n: FeedForward<Scalar>) -> FeedForward<Scalar> {
      var n = n
      n.gate = n.gate.map { transform($0, false) }
      (n.up, n.down) = (transform(n.up, false), transform(n.down, false))
      return n
    }
    for i in model.blocks.indices {
      switch model.blocks[i].attention {
      case .grouped(var a):
        (a.query, a.key) = (transform(a.query, false), transform(a.key, false))
        (a.value, a.output) = (transform(a.value, false), transform(a.output, false))
        a.outputGate = a.outputGate.map { transform($0, false) }
        model.blocks[i].attention = .grouped(a)
      case .recurrent(let a):
        model.blocks[i].attention = .recurrent(a.mappingProjections { transform($0, false) })
      case .latent(var a):
        (a.query, a.queryDown, a.queryUp) = (
          a.query.map { transform($0, false) }, a.queryDown.map { transform($0, false) },
          a.queryUp.map { transform($0, false) }
        )
        (a.keyValueDown, a.keyValueUp) = (transform(a.keyValueDown, false), transform(a.keyValueUp, true))
        a.output = transform(a.output, false)
        model.blocks[i].attention = .latent(a)
      }
      switch model.blocks[i].feedForward.feedForward {
      case .dense(let n): model.blocks[i].feedForward.feedForward = .dense(network(n))
      case .moe(var layer):
        layer.experts = layer.experts.map(network)
        if let shared = layer.sharedExpert { layer.sharedExpert!.network = network(shared.network) }
        model.blocks[i].feedForward.feedForward = .moe(layer)
      }
    }
    model.head = model.head.map { transform($0, false) }
    return model
  }
  /// `d`.
  public var dimensions: Int { embedding.value.columns }

  /// Logits (`tokens.count × vocabulary`) for every position of every sequence of
  /// `layout`, running only `activeHeads` of each grouped-query layer when given.
  public func logits(_ tokens: [Int], layout: SequenceLayout, activeHeads: [Int]? = nil) -> Matrix<Scalar> {
    var context = RoutingContext()
    var workspace = MoEWorkspace<Scalar>()
    var h = embed(tokens)
    for block in blocks {
      h =
        block.forward(h, layout: layout, activeHeads: activeHeads, context: &context, workspace: &workspace)
        .output
    }
    return project(OperationProfile.measure("final norm") { finalNorm(h) })
  }

  /// One empty cache per layer, for decoding one sequence.
  public func makeCaches(capacity: Int = 16) -> [KVCache<Scalar>] {
    blocks.map { $0.makeCache(capacity: capacity) }
  }

  /// Logits for the next tokens of the caches' sequence (`tokens.count × vocabulary`),
  /// appending them to every layer's cache.
  public func decode(_ tokens: [Int], caches: inout [KVCache<Scalar>]) -> Matrix<Scalar> {
    precondition(
      caches.count == blocks.count, "DecoderModel: \(caches.count) caches for \(blocks.count) layers")
    var context = RoutingContext()
    var workspace = MoEWorkspace<Scalar>()
    var h = embed(tokens)
    for i in blocks.indices {
      h = blocks[i].forward(h, cache: &caches[i], context: &context, workspace: &workspace)
    }
    return project(OperationProfile.measure("final norm") { finalNorm(h) })
  }

  /// Logits for the next tokens of several sequences at once (`tokens.reduce(0) { $0 + $1.count }
  /// × vocabulary`, the rows of sequence `s` after those of sequence `s − 1`), appending
  /// `tokens[s]` to sequence `s`'s caches: `layerCaches[i][s]` is layer `i`'s cache of sequence
  /// `s` (`makeCaches` gives one sequence's, layer by layer). Attention runs per sequence over
  /// its own cache; every MoE layer's experts run over all the sequences' tokens together,
  /// reading an expert once for every sequence that chose it (continuous batching). Each
  /// sequence's logits are what `decode(_:caches:)` gives it alone, up to the rounding of
  /// products over more rows.
  ///
  /// - Precondition: one cache per layer and sequence; an empty `tokens[s]` leaves sequence `s`
  ///   as it is.
  public func decode(_ tokens: [[Int]], layerCaches: inout [[KVCache<Scalar>]]) -> Matrix<Scalar> {
    precondition(
      layerCaches.count == blocks.count && layerCaches.allSatisfy { $0.count == tokens.count },
      "DecoderModel: caches of \(layerCaches.map(\.count)) sequences per layer for \(blocks.count) layers and \(tokens.count) sequences"
    )
    var context = RoutingContext()
    var workspace = MoEWorkspace<Scalar>()
    let counts = tokens.map(\.count)
    var h = embed(tokens.flatMap { $0 })
    for i in blocks.indices {
      h = blocks[i].forward(
        h, caches: &layerCaches[i], counts: counts, context: &context, workspace: &workspace)
    }
    return project(OperationProfile.measure("final norm") { finalNorm(h) })
  }

  /// Generation: the prompt goes through the caches at once (prefill), then each step
  /// feeds back the token `sampler` picks from the last logits (greedy by default: the most
  /// likely, lowest id on ties), until `count` new tokens or one of `stop` (which is kept).
  /// `onToken` sees each new token as it comes. Sampling draws from a generator seeded
  /// with `seed`, so a run is reproducible.
  ///
  /// - Throws: `MoEError.nonFiniteLogits` when a step's logits hold NaN or an infinity,
  ///   rather than picking a token from them.
  public func generate(
    prompt: [Int], count: Int, sampler: TokenSampler = .greedy, stop: Set<Int> = [], seed: UInt64 = 0,
    onToken: (Int) -> Void = { _ in }
  ) throws -> [Int] {
    precondition(
      !prompt.isEmpty && count >= 0, "DecoderModel.generate: empty prompt or negative count \(count)")
    var generator = Xoshiro256StarStar(seed: seed)
    var caches = makeCaches(capacity: prompt.count + count)
    var logits = decode(prompt, caches: &caches)
    var generated: [Int] = []
    for step in 0..<count {
      let row = logits[row: logits.rows - 1]
      guard row.allSatisfy({ $0.isFinite }) else {
        throw MoEError.nonFiniteLogits(position: prompt.count + step - 1)
      }
      let next = sampler.next(row, using: &generator)
      generated.append(next)
      onToken(next)
      if stop.contains(next) { break }
      if step + 1 < count { logits = decode([next], caches: &caches) }
    }
    return generated
  }

  // MARK: Training

  /// What `backward` needs.
  public struct Cache: Sendable {
    /// The token ids.
    public var tokens: [Int]
    /// Each block's cache.
    public var blocks: [DecoderBlock<Scalar>.Cache]
    /// The last block's output, before the final norm.
    public var hidden: Matrix<Scalar>
    /// `norm(hidden)`, the head's input.
    public var normalized: Matrix<Scalar>
    /// Each block's MoE result (`nil` for a dense block): decisions and loads, for
    /// balancing losses, balancers and diagnostics.
    public var routing: [MoEForward<Scalar>?]
  }

  /// The logits, keeping what `backward` needs.
  public func forwardForTraining(
    _ tokens: [Int], layout: SequenceLayout, activeHeads: [Int]? = nil, context: inout RoutingContext
  ) -> (logits: Matrix<Scalar>, cache: Cache) {
    var h = embed(tokens)
    var caches: [DecoderBlock<Scalar>.Cache] = []
    var routing: [MoEForward<Scalar>?] = []
    for block in blocks {
      let (output, moe, cache) = block.forwardForTraining(
        h, layout: layout, activeHeads: activeHeads, context: &context)
      h = output
      caches.append(cache)
      routing.append(moe)
    }
    let normalized = finalNorm(h)
    return (
      project(normalized),
      Cache(tokens: tokens, blocks: caches, hidden: h, normalized: normalized, routing: routing)
    )
  }

  /// The backward pass from `∂L/∂logits`: accumulates every parameter's gradient,
  /// the embedding's by row (scatter-add over the token ids, plus the tied head's).
  ///
  /// - Parameters:
  ///   - dLogits: `∂L/∂logits`, `T × vocabulary`.
  ///   - cache: from `forwardForTraining` on the same tokens.
  ///   - routerLosses: per block, the balancing losses' gradients for its MoE router (`nil`
  ///     or missing entries: none).
  public mutating func backward(
    _ dLogits: Matrix<Scalar>, cache: Cache, routerLosses: [RouterLossGradient<Scalar>?] = []
  ) {
    let dLogits = logitScale == 1 ? dLogits : dLogits * logitScale
    var dNormalized: Matrix<Scalar>
    if head != nil {
      dNormalized = head!.backward(dLogits, input: cache.normalized)
    } else {
      tiedHeadBias?.accumulateGradient { $0.add(Matrix(row: dLogits.columnSums())) }
      dNormalized = matmul(dLogits, embedding.value)
      embedding.accumulateGradient { gemm(dLogits, transposeA: true, cache.normalized, beta: 1, into: &$0) }
    }
    var gradient = finalNorm.backward(dNormalized, input: cache.hidden)
    // Frozen lower layers need no backward pass at all: stop below the lowest block that
    // trains (fine-tuning rules freeze the embedding and most of the stack).
    let lowest =
      embedding.isTrainable
      ? 0 : blocks.firstIndex { $0.parameterCount(trainableOnly: true) > 0 } ?? blocks.count
    for i in blocks.indices.reversed() where i >= lowest {
      gradient = blocks[i].backward(
        gradient, cache: cache.blocks[i], routerLoss: i < routerLosses.count ? routerLosses[i] : nil)
    }
    if lowest == 0 {
      let dEmbedded = embeddingScale == 1 ? gradient : gradient * embeddingScale
      embedding.accumulateGradient { $0.scatterAddRows(dEmbedded, to: cache.tokens) }
    }
  }

  /// Visits `embed_tokens.weight`, `layers.{i}.*`, `norm.weight`, `lm_head.weight` and
  /// `lm_head.bias` (a separate head's, or the tied head's bias).
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    body(Self._join(prefix, "embed_tokens.weight"), &embedding)
    for i in blocks.indices { blocks[i].visitParameters(prefix: Self._join(prefix, "layers.\(i)"), body) }
    finalNorm.visitParameters(prefix: Self._join(prefix, "norm"), body)
    if head != nil { head!.visitParameters(prefix: Self._join(prefix, "lm_head"), body) }
    if tiedHeadBias != nil { body(Self._join(prefix, "lm_head.bias"), &tiedHeadBias!) }
  }

  // MARK: Pieces

  func embed(_ tokens: [Int]) -> Matrix<Scalar> {
    precondition(
      tokens.allSatisfy { (0..<vocabulary).contains($0) },
      "DecoderModel: token ids must be in 0..<\(vocabulary), got \(tokens.filter { !(0..<vocabulary).contains($0) }.prefix(3))"
    )
    return OperationProfile.measure("embedding") {
      let rows = embedding.value.gatheringRows(tokens)
      return embeddingScale == 1 ? rows : rows * embeddingScale
    }
  }

  func project(_ normalized: Matrix<Scalar>) -> Matrix<Scalar> {
    OperationProfile.measure("head", bytes: head?.weightBytes ?? embedding.count * MemoryLayout<Scalar>.size)
    {
      var logits: Matrix<Scalar>
      if let head {
        logits = head(normalized)
      } else {
        logits = matmul(normalized, embedding.value, transposeB: true)
        if let tiedHeadBias { logits.add(tiedHeadBias.value) }
      }
      return logitScale == 1 ? logits : logits * logitScale
    }
  }
}
