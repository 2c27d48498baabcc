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
  /// The attention of the model's layers: layer 0's when they differ (see
  /// `attentionLayers`); setting it gives every layer that attention.
  ///
  /// - Precondition: the model has a layer.
  public var attention: AttentionKind {
    get { attentionLayers[0] }
    set { attentionLayers = Array(repeating: newValue, count: layers) }
  }
  /// The attention of each layer (its count is the layer count): `attention` everywhere
  /// unless layers differ — sliding-window beside full layers (gpt-oss), chunked beside
  /// global ones (Llama 4).
  public var attentionLayers: [AttentionKind]
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
  /// Whether the output head has a bias (`V` more weights; Phi-3.5-MoE's `lm_head_bias`,
  /// ERNIE 4.5's `use_bias`).
  public var outputHeadBias: Bool
  /// Attention computed per layer.
  public var attentionSparsity: AttentionSparsity
  /// Multi-token-prediction modules (DeepSeek-V3's `num_nextn_predict_layers`).
  public var multiTokenPredictionModules: Int
  /// Weights of a vision tower and its projector into the text model (a multimodal
  /// config's), reported apart: in neither the total nor the active count, which are the
  /// text model's.
  public var visionTowerParameters = 0
  /// What the source of this architecture held that the figures do not follow, each with
  /// what they assume instead (set by `HuggingFaceConfig`: a checkpoint's quantization, a
  /// sliding window it does not model, a vision tower).
  public var unmodelledFields: [String] = []

  /// The kind of normalisation layers.
  public enum NormKind: Sendable, Equatable {
    /// RMSNorm: a gain per feature.
    case rms
    /// LayerNorm: a gain and a bias per feature.
    case layer
  }

  /// An architecture; `isMoELayer` defaults to every layer MoE when `moe` is given, none
  /// otherwise; `attentionLayers` to `attention` in every layer (`attention` is then
  /// layer 0's, and must be when `attentionLayers` is given).
  public init(
    name: String, vocabularySize: Int, width: Int, layers: Int, attention: AttentionKind,
    attentionLayers: [AttentionKind]? = nil, denseFeedForward: FeedForwardShape, moe: MoEShape? = nil,
    isMoELayer: [Bool]? = nil, normKind: NormKind = .rms, tiedEmbeddings: Bool = false,
    outputHeadBias: Bool = false, attentionSparsity: AttentionSparsity = .dense,
    multiTokenPredictionModules: Int = 0
  ) {
    self.name = name
    self.vocabularySize = vocabularySize
    self.width = width
    self.attentionLayers = attentionLayers ?? Array(repeating: attention, count: layers)
    self.outputHeadBias = outputHeadBias
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
    precondition(
      self.attentionLayers.first.map { $0 == attention } ?? true,
      "Architecture \(name): attention is not layer 0's")
    precondition(
      self.attentionLayers.count == layers,
      "Architecture \(name): \(self.attentionLayers.count) attention layers for \(layers) layers")
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
