/// DeepSeek Sparse Attention's lightning indexer (DeepSeek-V3.2-Exp, 2025): a few small
/// heads score every earlier position, and the main attention attends only the `topK`
/// best. Weights: `wq_b` `queryRank → heads·headDim` (from the attention's query latent),
/// `wk` `d → headDim`, a LayerNorm of `headDim` (gain and bias) on the keys, and
/// `weights_proj` `d → heads`. The cache keeps one `headDim` key per position beside the
/// attention's own.
public struct SparseIndexer: Sendable, Equatable {
  /// Indexer heads (`index_n_heads`).
  public var heads: Int
  /// Width of each indexer head and of its keys (`index_head_dim`).
  public var headDim: Int
  /// Positions the main attention attends (`index_topk`).
  public var topK: Int
  /// The query latent the indexer reads (`q_lora_rank`).
  public var queryRank: Int

  /// An indexer of `heads` of `headDim` choosing `topK` positions from a query latent of
  /// `queryRank`.
  public init(heads: Int, headDim: Int, topK: Int, queryRank: Int) {
    (self.heads, self.headDim, self.topK, self.queryRank) = (heads, headDim, topK, queryRank)
  }

  /// Weights for a model of width `d`.
  public func parameters(width d: Int) -> Int {
    queryRank * heads * headDim + d * headDim + 2 * headDim + d * heads
  }

  /// Multiply-adds per token beyond the projections: every head scores every position.
  public func scoringMultiplyAdds(context: Int) -> Int { heads * headDim * context }
}
