import Linalg

/// A pre-norm decoder layer: `h = x + r·attention(norm₁(x))`, then `h + r·ffn(norm₂(h))` (`r` = 1
/// but in Granite) with a
/// dense or MoE feed-forward (`FeedForwardBlock`), as in Llama, Mixtral, Qwen and DeepSeek.
///
/// Shapes: `x` and the output are `T × d`; a batch is a `SequenceLayout` of sequences, and
/// one sequence decodes token by token over a `KVCache` (`makeCache`).
public struct DecoderBlock<Scalar: BLASScalar>: Sendable, ParameterContainer {
  /// The norm in front of attention (`input_layernorm`).
  public var attentionNorm: Normalization<Scalar>
  /// Grouped-query attention, when the block has it (exactly one of `grouped`, `latent`).
  public private(set) var grouped: MultiHeadAttention<Scalar>?
  /// Multi-head latent attention, when the block has it.
  public private(set) var latent: MultiHeadLatentAttention<Scalar>?
  /// A recurrent mixer, when the block has one (inference only).
  public private(set) var recurrent: (any RecurrentLayer<Scalar>)?
  /// The feed-forward half, with its own norm and residual.
  public var feedForward: FeedForwardBlock<Scalar>
  /// `r` in `x + r·attention(norm₁(x))` (Granite's `residual_multiplier`; 1 elsewhere).
  public var residualScale: Scalar = 1

  /// A block from its parts.
  public init(
    attentionNorm: Normalization<Scalar>, attention: AttentionSublayer<Scalar>,
    feedForward: FeedForwardBlock<Scalar>
  ) {
    self.attentionNorm = attentionNorm
    self.feedForward = feedForward
    self.attention = attention
  }

  /// The attention sublayer.
  public var attention: AttentionSublayer<Scalar> {
    get { latent.map { .latent($0) } ?? recurrent.map { .recurrent($0) } ?? .grouped(grouped!) }
    set {
      switch newValue {
      case .grouped(let layer): (grouped, latent, recurrent) = (layer, nil, nil)
      case .latent(let layer): (grouped, latent, recurrent) = (nil, layer, nil)
      case .recurrent(let layer): (grouped, latent, recurrent) = (nil, nil, layer)
      }
    }
  }

  /// An empty cache for decoding one sequence through this block (a fixed-size state for a
  /// recurrent mixer).
  public func makeCache(capacity: Int = 16) -> KVCache<Scalar> {
    grouped?.makeCache(capacity: capacity) ?? latent?.makeCache(capacity: capacity) ?? recurrent!.makeCache()
  }

  /// The block over every sequence of `layout`; `activeHeads` runs only those heads of
  /// grouped-query attention (head-sparse).
  public func forward(
    _ x: Matrix<Scalar>, layout: SequenceLayout, activeHeads: [Int]? = nil, context: inout RoutingContext,
    workspace: inout MoEWorkspace<Scalar>
  ) -> (output: Matrix<Scalar>, moe: MoEForward<Scalar>?) {
    let normalized = attentionNorm(x)
    let attended =
      grouped.map { $0(normalized, layout: layout, activeHeads: activeHeads) }
      ?? recurrent.map { $0(normalized, layout: layout) } ?? latentOnly(normalized, layout, activeHeads)
    return feedForward.forward(x + residual(attended), context: &context, workspace: &workspace)
  }

  /// The next tokens of the cache's sequence through the block (attention over the cache,
  /// which grows by `x.rows`).
  public func forward(
    _ x: Matrix<Scalar>, cache: inout KVCache<Scalar>, context: inout RoutingContext,
    workspace: inout MoEWorkspace<Scalar>
  ) -> Matrix<Scalar> {
    let normalized = OperationProfile.measure("attention norm") { attentionNorm(x) }
    let attended = attend(normalized, cache: &cache)
    return feedForward.forward(x + residual(attended), context: &context, workspace: &workspace).output
  }

  /// The next tokens of several sequences through the block at once: `x` holds `counts[s]`
  /// rows of sequence `s`, one sequence after another. Each sequence's rows attend over its
  /// own cache `caches[s]` (which grows by `counts[s]`), as `forward(_:cache:context:workspace:)`
  /// does alone; the feed-forward half runs over every row together, so an expert chosen by
  /// tokens of several sequences is read once for all of them.
  ///
  /// - Precondition: one count per cache, the counts summing to `x.rows`.
  public func forward(
    _ x: Matrix<Scalar>, caches: inout [KVCache<Scalar>], counts: [Int], context: inout RoutingContext,
    workspace: inout MoEWorkspace<Scalar>
  ) -> Matrix<Scalar> {
    precondition(
      counts.count == caches.count && counts.allSatisfy({ $0 >= 0 }) && counts.reduce(0, +) == x.rows,
      "DecoderBlock: row counts \(counts) for \(caches.count) caches and \(x.rows) rows")
    guard x.rows > 0 else { return x }
    let normalized = OperationProfile.measure("attention norm") { attentionNorm(x) }
    var attended = Matrix<Scalar>(rows: 0, columns: 0)
    var row = 0
    for s in caches.indices where counts[s] > 0 {
      let rows = row..<row + counts[s]
      let part = attend(normalized[rows: rows], cache: &caches[s])
      if attended.rows == 0 { attended = Matrix(rows: x.rows, columns: part.columns) }
      attended[rows: rows] = part
      row += counts[s]
    }
    return feedForward.forward(x + residual(attended), context: &context, workspace: &workspace).output
  }

  /// `normalized`'s rows through the block's mixer, over (and appended to) `cache`.
  func attend(_ normalized: Matrix<Scalar>, cache: inout KVCache<Scalar>) -> Matrix<Scalar> {
    grouped?.forward(normalized, cache: &cache)
      ?? OperationProfile.measure(latent != nil ? "latent attention" : recurrent!.operationName) {
        latent?.forward(normalized, cache: &cache) ?? recurrent!.forward(normalized, cache: &cache)
      }
  }

  /// `r·y`, or `y` itself when `r = 1`.
  func residual(_ y: Matrix<Scalar>) -> Matrix<Scalar> { residualScale == 1 ? y : y * residualScale }

  private func latentOnly(_ x: Matrix<Scalar>, _ layout: SequenceLayout, _ activeHeads: [Int]?) -> Matrix<
    Scalar
  > {
    precondition(activeHeads == nil, "DecoderBlock: head selection needs grouped-query attention, not MLA")
    return latent!(x, layout: layout)
  }

  /// What the block's backward pass needs.
  public struct Cache: Sendable {
    /// The block's input.
    public var input: Matrix<Scalar>
    /// `norm₁(x)`.
    public var normalized: Matrix<Scalar>
    /// The grouped-query attention's cache, for such a block.
    public var grouped: MultiHeadAttention<Scalar>.Cache?
    /// The latent attention's cache, for such a block.
    public var latent: MultiHeadLatentAttention<Scalar>.Cache?
    /// The feed-forward half's cache.
    public var feedForward: FeedForwardBlock<Scalar>.Cache
  }

  /// The forward pass, keeping what `backward` needs.
  public func forwardForTraining(
    _ x: Matrix<Scalar>, layout: SequenceLayout, activeHeads: [Int]? = nil, context: inout RoutingContext
  ) -> (output: Matrix<Scalar>, moe: MoEForward<Scalar>?, cache: Cache) {
    let normalized = attentionNorm(x)
    let attended: Matrix<Scalar>
    var (groupedCache, latentCache):
      (MultiHeadAttention<Scalar>.Cache?, MultiHeadLatentAttention<Scalar>.Cache?)
    precondition(recurrent == nil, "DecoderBlock: recurrent mixers have no training pass")
    if let grouped {
      (attended, groupedCache) = grouped.forwardForTraining(
        normalized, layout: layout, activeHeads: activeHeads)
    } else {
      precondition(activeHeads == nil, "DecoderBlock: head selection needs grouped-query attention, not MLA")
      (attended, latentCache) = latent!.forwardForTraining(normalized, layout: layout)
    }
    let (output, moe, feedForwardCache) = feedForward.forwardForTraining(
      x + residual(attended), context: &context)
    let cache = Cache(
      input: x, normalized: normalized, grouped: groupedCache, latent: latentCache,
      feedForward: feedForwardCache)
    return (output, moe, cache)
  }

  /// The backward pass: `∂h = ffn-block′ᵀ(dy)`, `∂x = ∂h + norm₁′ᵀ(attention′ᵀ(∂h))`.
  public mutating func backward(
    _ dy: Matrix<Scalar>, cache: Cache, routerLoss: RouterLossGradient<Scalar>? = nil
  ) -> Matrix<Scalar> {
    let dh = feedForward.backward(dy, cache: cache.feedForward, routerLoss: routerLoss)
    let dAttended = residual(dh)
    let dNormalized =
      grouped != nil
      ? grouped!.backward(dAttended, cache: cache.grouped!)
      : latent!.backward(dAttended, cache: cache.latent!)
    return dh + attentionNorm.backward(dNormalized, input: cache.input)
  }

  /// Visits `input_layernorm.weight`, `self_attn.*`, then the feed-forward half's
  /// `norm.weight` and `mlp.*` or `moe.*`.
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    attentionNorm.visitParameters(prefix: Self._join(prefix, "input_layernorm"), body)
    if grouped != nil { grouped!.visitParameters(prefix: Self._join(prefix, "self_attn"), body) }
    if latent != nil { latent!.visitParameters(prefix: Self._join(prefix, "self_attn"), body) }
    if recurrent != nil { recurrent!.visitParameters(prefix: Self._join(prefix, "mixer"), body) }
    feedForward.visitParameters(prefix: prefix, body)
  }
}
