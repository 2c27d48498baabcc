/// A decoder-only transformer described by what its cost depends on: sizes, the attention
/// kind, the feed-forward of dense and MoE layers, and which layers are which.
///
/// Conventions, used by every count in `CostModel`:
/// - *total parameters*: every weight of the main model — embeddings, the output head
///   (once if tied), attention, feed-forward or MoE layers with routers and shared
///   experts, and norms. A multi-token-prediction module (DeepSeek-V3) is counted apart
///   (`multiTokenPredictionParameters`), in neither the total nor the active count.
/// - *active parameters per token*: the weights one token's forward pass reads —
///   everything but the routed experts it is not sent to. The embedding table counts in
///   full (it must be resident); `activeParametersExcludingEmbeddings` leaves out the
///   input embedding and the output head, as scaling-law papers do.
public struct Architecture: Sendable, Equatable {
  /// A name for tables.
  public var name: String
  /// Vocabulary size `V`.
  public var vocabularySize: Int
  /// Model width `d`.
  public var width: Int
  /// Attention of every layer.
  public var attention: AttentionKind
  /// The feed-forward of dense layers.
  public var denseFeedForward: FeedForwardShape
  /// The MoE shape of MoE layers, or `nil` for a dense model.
  public var moe: MoEShape?
  /// `isMoELayer[i]`: whether layer `i` is a MoE layer (its count is the layer count).
  public var isMoELayer: [Bool]
  /// Scalars per norm: `d` for RMSNorm, `2d` for LayerNorm (with bias).
  public var normKind: NormKind
  /// Whether the output head shares the embedding matrix.
  public var tiedEmbeddings: Bool
  /// Attention computed per layer.
  public var attentionSparsity: AttentionSparsity
  /// Multi-token-prediction modules (DeepSeek-V3's `num_nextn_predict_layers`).
  public var multiTokenPredictionModules: Int

  /// The kind of normalisation layers.
  public enum NormKind: Sendable, Equatable {
    /// RMSNorm: a gain per feature.
    case rms
    /// LayerNorm: a gain and a bias per feature.
    case layer
  }

  /// An architecture; `isMoELayer` defaults to every layer MoE when `moe` is given, none
  /// otherwise.
  public init(
    name: String, vocabularySize: Int, width: Int, layers: Int, attention: AttentionKind,
    denseFeedForward: FeedForwardShape, moe: MoEShape? = nil, isMoELayer: [Bool]? = nil,
    normKind: NormKind = .rms, tiedEmbeddings: Bool = false, attentionSparsity: AttentionSparsity = .dense,
    multiTokenPredictionModules: Int = 0
  ) {
    self.name = name
    self.vocabularySize = vocabularySize
    self.width = width
    self.attention = attention
    self.denseFeedForward = denseFeedForward
    self.moe = moe
    self.isMoELayer = isMoELayer ?? Array(repeating: moe != nil, count: layers)
    self.normKind = normKind
    self.tiedEmbeddings = tiedEmbeddings
    self.attentionSparsity = attentionSparsity
    self.multiTokenPredictionModules = multiTokenPredictionModules
    precondition(
      self.isMoELayer.count == layers,
      "Architecture \(name): \(self.isMoELayer.count) layer flags for \(layers) layers")
    precondition(
      moe != nil || !self.isMoELayer.contains(true), "Architecture \(name): MoE layers without a MoE shape")
  }

  /// Number of layers.
  public var layers: Int { isMoELayer.count }
  /// Number of MoE layers.
  public var moeLayers: Int { isMoELayer.count { $0 } }
  /// Number of dense layers.
  public var denseLayers: Int { layers - moeLayers }
  /// Scalars of one norm.
  public var normParameters: Int { normKind == .rms ? width : 2 * width }
}
