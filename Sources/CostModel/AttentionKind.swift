/// The attention of a transformer layer, as far as its cost is concerned.
///
/// - `grouped`: multi-head attention (`kvHeads == heads`, MHA; Vaswani et al. 2017) or
///   grouped-query attention (`kvHeads < heads`, GQA; Ainslie et al. 2023, arXiv
///   2305.13245): `q` is `d → heads·headDim`, `k` and `v` are `d → kvHeads·headDim`, `o`
///   is `heads·headDim → d`.
/// - `latent`: multi-head latent attention (MLA; DeepSeek-V2, arXiv 2405.04434 §2.1):
///   queries through an optional low-rank `d → qLoRARank → heads·(nope + rope)`, keys and
///   values from one compressed latent `d → kvLoRARank (+ rope)` that is what the KV cache
///   stores, expanded by `kvLoRARank → heads·(nope + v)`.
/// - `windowed`: another kind whose queries attend at most `window` earlier positions —
///   sliding-window attention (Mistral, gpt-oss; Beltagy et al. 2020, arXiv 2004.05150) or
///   chunked attention (Llama 4, where a query sees the positions of its chunk so far:
///   `window` is then an upper bound). Weights are the inner kind's; scores, values and
///   the cache stop growing at `window`.
/// - `withSinks`: another kind with one learned sink logit per query head added to every
///   softmax (gpt-oss; "attention sinks", Xiao et al. 2023, arXiv 2309.17453): `heads`
///   more weights per layer, nothing else.
/// - `outputGated`: another kind whose query projection also emits a sigmoid gate of
///   `heads·headDim` on the attention output (Qwen3-Next's full-attention layers; Qiu et al.
///   2025, arXiv 2505.06708): `d·heads·headDim` more weights, per head.
/// - `sparse`: MLA with DeepSeek-V3.2's lightning indexer (`SparseIndexer`): attention over
///   at most `indexer.topK` positions, plus the indexer's own scoring of every position.
/// - `recurrent`: a fixed-state mixer in place of attention (`RecurrentMixer`: Gated
///   DeltaNet, Mamba, lightning attention): no cache that grows, a state instead.
public enum AttentionKind: Sendable, Equatable {
  /// MHA or GQA with optional biases on `q`, `k`, `v` (Qwen2) and optional per-head
  /// RMSNorms on `q` and `k` (Qwen3, OLMoE, of width `headDim` or of the whole projection).
  /// `outputBias`: a bias on `o` too (Llama's and OLMoE's `attention_bias`; Qwen2 and
  /// GLM-4.5 have none there).
  case grouped(
    heads: Int, kvHeads: Int, headDim: Int, qkvBias: Bool, qkNorm: QKNorm, outputBias: Bool = false)
  /// MLA; `qLoRARank == nil` means queries are projected directly (DeepSeek-V2-Lite).
  case latent(heads: Int, qLoRARank: Int?, kvLoRARank: Int, nopeHeadDim: Int, ropeHeadDim: Int, vHeadDim: Int)
  /// `inner` attending at most `window` earlier positions.
  indirect case windowed(AttentionKind, window: Int)
  /// `inner` with one learned softmax sink per query head.
  indirect case withSinks(AttentionKind)
  /// `inner` with a sigmoid gate on its output, emitted by the query projection.
  indirect case outputGated(AttentionKind)
  /// `inner` attending the positions `indexer` chooses.
  indirect case sparse(AttentionKind, indexer: SparseIndexer)
  /// A fixed-state sequence mixer.
  case recurrent(RecurrentMixer)

  /// Normalisation of queries and keys before the scores.
  public enum QKNorm: Sendable, Equatable {
    /// None (Llama, Mixtral, DeepSeek).
    case none
    /// One RMSNorm of `headDim` for queries and one for keys, shared by all heads (Qwen3).
    case perHead
    /// RMSNorms over the whole query projection and the whole key projection (OLMoE).
    case perProjection
  }

  /// Multi-head attention: `heads` heads of `headDim`, keys and values for every head.
  public static func mha(heads: Int, headDim: Int, qkvBias: Bool = false) -> AttentionKind {
    .grouped(heads: heads, kvHeads: heads, headDim: headDim, qkvBias: qkvBias, qkNorm: .none)
  }

  /// Grouped-query attention: `heads` query heads sharing `kvHeads` key/value heads.
  public static func gqa(heads: Int, kvHeads: Int, headDim: Int, qkvBias: Bool = false) -> AttentionKind {
    .grouped(heads: heads, kvHeads: kvHeads, headDim: headDim, qkvBias: qkvBias, qkNorm: .none)
  }

  /// Number of query heads (of a recurrent mixer: its value heads, or its heads).
  public var heads: Int {
    switch self {
    case .grouped(let heads, _, _, _, _, _), .latent(let heads, _, _, _, _, _): heads
    case .windowed(let inner, _), .withSinks(let inner), .outputGated(let inner), .sparse(let inner, _):
      inner.heads
    case .recurrent(.gatedDeltaNet(_, _, let heads, _, _)), .recurrent(.lightning(let heads, _)),
      .recurrent(.mamba2(let heads, _, _, _, _, _, _)):
      heads
    case .recurrent(.mamba): 1
    }
  }

  /// Earlier positions a query at `context` attends: `context`, at most the window, at
  /// most the indexer's `topK`; none for a recurrent mixer.
  public func attendedPositions(context: Int) -> Int {
    switch self {
    case .windowed(let inner, let window): Swift.min(window, inner.attendedPositions(context: context))
    case .sparse(let inner, let indexer): Swift.min(indexer.topK, inner.attendedPositions(context: context))
    case .withSinks(let inner), .outputGated(let inner): inner.attendedPositions(context: context)
    case .grouped, .latent: context
    case .recurrent: 0
    }
  }

  /// Scalars the layer keeps for a sequence of `context` tokens: `cachedValuesPerToken`
  /// for every position a later query can still attend (all of them under a sparse
  /// indexer, which may pick any), or a recurrent mixer's fixed state.
  public func cachedScalars(context: Int) -> Int {
    switch self {
    case .windowed(let inner, let window): inner.cachedScalars(context: Swift.min(window, context))
    case .withSinks(let inner), .outputGated(let inner): inner.cachedScalars(context: context)
    case .sparse(let inner, let indexer): inner.cachedScalars(context: context) + indexer.headDim * context
    case .grouped, .latent: cachedValuesPerToken * context
    case .recurrent(let mixer): mixer.stateScalars
    }
  }

  /// Multiply-adds of one token at `context` beyond the projections: every head's scores
  /// and weighted values over the attended positions (and an indexer's scoring), or a
  /// recurrent mixer's state update and read-out.
  public func mixingMultiplyAdds(context: Int) -> Int {
    switch self {
    case .sparse(let inner, let indexer):
      inner.mixingMultiplyAdds(context: attendedPositions(context: context))
        + indexer.scoringMultiplyAdds(context: context)
    case .recurrent(let mixer): mixer.mixingMultiplyAdds
    default: heads * multiplyAddsPerHeadPerPosition * attendedPositions(context: context)
    }
  }

  /// Weights of one layer's attention for a model of width `d`: projections, biases and
  /// the norms inside attention (not the pre-attention norm).
  public func parameters(width d: Int) -> Int {
    switch self {
    case .grouped(let h, let kv, let hd, let bias, let qkNorm, let outputBias):
      let projections = d * h * hd + 2 * d * kv * hd + h * hd * d
      let biases = (bias ? h * hd + 2 * kv * hd : 0) + (outputBias ? d : 0)
      let norms: Int
      switch qkNorm {
      case .none: norms = 0
      case .perHead: norms = 2 * hd
      case .perProjection: norms = h * hd + kv * hd
      }
      return projections + biases + norms
    case .latent(let h, let qRank, let kvRank, let nope, let rope, let v):
      let query = qRank.map { d * $0 + $0 + $0 * h * (nope + rope) } ?? d * h * (nope + rope)
      let keyValue = d * (kvRank + rope) + kvRank + kvRank * h * (nope + v)
      return query + keyValue + h * v * d
    case .windowed(let inner, _): return inner.parameters(width: d)
    case .withSinks(let inner): return inner.parameters(width: d) + inner.heads
    case .outputGated(let inner): return inner.parameters(width: d) + d * inner.outputWidth
    case .sparse(let inner, let indexer): return inner.parameters(width: d) + indexer.parameters(width: d)
    case .recurrent(let mixer): return mixer.parameters(width: d)
    }
  }

  /// The width of the attention output, `heads·headDim` (MLA: `heads·v`): what an output
  /// gate covers and `o_proj` reads.
  var outputWidth: Int {
    switch self {
    case .grouped(let h, _, let hd, _, _, _): h * hd
    case .latent(let h, _, _, _, _, let v): h * v
    case .windowed(let inner, _), .withSinks(let inner), .outputGated(let inner), .sparse(let inner, _):
      inner.outputWidth
    case .recurrent: 0
    }
  }

  /// Scalars cached per token per layer: `2·kvHeads·headDim` for MHA/GQA, the latent
  /// plus the shared rope key, `kvLoRARank + ropeHeadDim`, for MLA (plus a sparse
  /// indexer's key); 0 for a recurrent mixer, whose state does not grow.
  public var cachedValuesPerToken: Int {
    switch self {
    case .grouped(_, let kv, let hd, _, _, _): 2 * kv * hd
    case .latent(_, _, let kvRank, _, let rope, _): kvRank + rope
    case .windowed(let inner, _), .withSinks(let inner), .outputGated(let inner): inner.cachedValuesPerToken
    case .sparse(let inner, let indexer): inner.cachedValuesPerToken + indexer.headDim
    case .recurrent: 0
    }
  }

  /// Multiply-adds per query head per attended position: scores plus the weighted sum of
  /// values. MLA is counted in its absorbed form (the key and value up-projections folded
  /// into the query and output, as efficient inference does): scores over the latent and
  /// rope key, values over the latent.
  public var multiplyAddsPerHeadPerPosition: Int {
    switch self {
    case .grouped(_, _, let hd, _, _, _): 2 * hd
    case .latent(_, _, let kvRank, _, let rope, _): (kvRank + rope) + kvRank
    case .windowed(let inner, _), .withSinks(let inner), .outputGated(let inner), .sparse(let inner, _):
      inner.multiplyAddsPerHeadPerPosition
    case .recurrent: 0
    }
  }

  /// The share of the projection weights that belongs to individual query heads (`q` and
  /// `o`, and an output gate): what skipping a head saves. Keys and values are kept for
  /// the cache; a recurrent mixer has no head to skip.
  public func perHeadParameters(width d: Int) -> Int {
    switch self {
    case .grouped(let h, _, let hd, _, _, _): 2 * d * h * hd
    case .latent(let h, let qRank, _, let nope, let rope, let v):
      (qRank ?? d) * h * (nope + rope) + h * v * d
    case .windowed(let inner, _), .withSinks(let inner), .sparse(let inner, _):
      inner.perHeadParameters(width: d)
    case .outputGated(let inner): inner.perHeadParameters(width: d) + d * inner.outputWidth
    case .recurrent: 0
    }
  }
}
