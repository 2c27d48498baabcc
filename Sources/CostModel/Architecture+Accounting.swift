// Exact parameter, FLOP and memory accounting (conventions in `Architecture`'s summary).

extension Architecture {
  // MARK: Parameters

  /// The input embedding table, `V·d`.
  public var embeddingParameters: Int { vocabularySize * width }

  /// The output head, `V·d` (plus its bias), or only the bias when tied to the embedding.
  public var outputHeadParameters: Int {
    (tiedEmbeddings ? 0 : vocabularySize * width) + (outputHeadBias ? vocabularySize : 0)
  }

  /// Layer `i`'s attention and its two norms (before attention and before the FFN).
  public func attentionAndNormParameters(layer i: Int) -> Int {
    attentionLayers[i].parameters(width: width) + 2 * normParameters
  }

  /// Weights of layer `i`.
  public func totalParameters(layer i: Int) -> Int {
    attentionAndNormParameters(layer: i) + feedForwardParameters(layer: i, active: false)
  }

  /// Weights a token uses in layer `i`.
  public func activeParameters(layer i: Int) -> Int {
    attentionAndNormParameters(layer: i) + feedForwardParameters(layer: i, active: true)
  }

  /// The feed-forward weights of layer `i`, all or only those one token uses.
  func feedForwardParameters(layer i: Int, active: Bool) -> Int {
    guard isMoELayer[i], let moe else { return denseFeedForward.parameters(width: width) }
    return active ? moe.activeParameters(width: width) : moe.totalParameters(width: width)
  }

  /// Every weight of the main model (multi-token prediction apart).
  public var totalParameters: Int {
    embeddingParameters + outputHeadParameters + normParameters
      + (0..<layers).reduce(0) { $0 + totalParameters(layer: $1) }
  }

  /// The weights one token's forward pass uses, embedding table and head included.
  public var activeParameters: Int {
    embeddingParameters + outputHeadParameters + normParameters
      + (0..<layers).reduce(0) { $0 + activeParameters(layer: $1) }
  }

  /// `activeParameters` without the input embedding and the output head.
  public var activeParametersExcludingEmbeddings: Int {
    activeParameters - embeddingParameters - outputHeadParameters
  }

  /// `totalParameters` without the input embedding and the output head.
  public var totalParametersExcludingEmbeddings: Int {
    totalParameters - embeddingParameters - outputHeadParameters
  }

  /// DeepSeek-V3's multi-token-prediction modules: each is one more layer (of the last
  /// layer's kind), a `2d → d` projection and three norms; it shares the embedding and the
  /// output head with the main model. (Its checkpoint stores a copy of both, which is why
  /// the published file holds 685B parameters for a 671B model.)
  public var multiTokenPredictionParameters: Int {
    guard multiTokenPredictionModules > 0, layers > 0 else { return 0 }
    let module = totalParameters(layer: layers - 1) + 2 * width * width + 3 * normParameters
    return multiTokenPredictionModules * module
  }

  // MARK: FLOPs

  /// Forward FLOPs for one token that attends `context` earlier positions (a decode step
  /// at that context): 2 per multiply-add of every matrix product the token goes through
  /// — projections, the router and its `k` experts plus shared experts, the output head —
  /// plus attention scores and the weighted sum of values. Norms, activations and softmax
  /// are left out (they are a fraction of a percent). The embedding lookup costs nothing.
  public func forwardFLOPsPerToken(context: Int) -> Double {
    var flops = 2 * Double(vocabularySize * width)
    for i in 0..<layers {
      flops += 2 * Double(feedForwardParameters(layer: i, active: true))
      flops += attentionFLOPs(layer: i, context: context)
    }
    return flops
  }

  /// Attention FLOPs of layer `i` for one token at `context`: projections (the per-head
  /// part scaled by the fraction of heads kept) plus scores and values over the attended
  /// positions.
  public func attentionFLOPs(layer i: Int, context: Int) -> Double {
    let sparse = i >= attentionSparsity.firstSparseLayer
    let heads = sparse ? attentionSparsity.expectedHeadFraction : 1
    let positions = sparse ? attentionSparsity.positionFraction : 1
    let attention = attentionLayers[i]
    let perHead = Double(attention.perHeadParameters(width: width))
    let shared = Double(attention.parameters(width: width)) - perHead
    let projections = 2 * (shared + heads * perHead)
    let mixing = 2 * heads * Double(attention.mixingMultiplyAdds(context: context)) * positions
    return projections + mixing
  }

  /// Training FLOPs for `tokens` tokens at `context`: forward plus a backward pass of
  /// twice the forward's work, `3 × forward` (Kaplan et al. 2020, arXiv 2001.08361).
  public func trainingFLOPs(tokens: Double, context: Int) -> Double {
    3 * tokens * forwardFLOPsPerToken(context: context)
  }

  // MARK: Memory

  /// Bytes of all main-model weights in `dataType`.
  public func weightBytes(_ dataType: DataType) -> Double {
    Double(totalParameters) * dataType.bytes
  }

  /// KV-cache bytes one token adds across all layers while every layer still caches it
  /// (within every window): `Σ_layers cached scalars · bytes`.
  public func kvCacheBytesPerToken(_ dataType: DataType) -> Double {
    Double(attentionLayers.reduce(0) { $0 + $1.cachedValuesPerToken }) * dataType.bytes
  }

  /// Cache bytes of one sequence of `context` tokens across all layers (windowed layers
  /// hold at most their window).
  public func cacheBytes(context: Int, dataType: DataType) -> Double {
    Double(attentionLayers.reduce(0) { $0 + $1.cachedScalars(context: context) }) * dataType.bytes
  }

  /// Weights plus the caches of `batch` sequences of `context` tokens (activations,
  /// which are small at inference, are not counted).
  public func inferenceMemoryBytes(batch: Int, context: Int, dataType: DataType) -> Double {
    weightBytes(dataType) + Double(batch) * cacheBytes(context: context, dataType: dataType)
  }

  /// Bytes one decode step of `batch` tokens (one per sequence, each at `context`) must
  /// read: every non-expert weight, the routed experts the batch touches (their expected
  /// number, `MoEShape.expectedDistinctExperts`), the output head, `batch` embedding rows
  /// and every sequence's KV cache.
  public func bytesReadPerDecodeStep(batch: Int, context: Int, dataType: DataType) -> Double {
    var parameters = Double(outputHeadParameters + batch * width + normParameters)
    if tiedEmbeddings { parameters += Double(embeddingParameters) }
    for i in 0..<layers {
      parameters += Double(attentionAndNormParameters(layer: i))
      if isMoELayer[i], let moe {
        let experts = moe.expectedDistinctExperts(tokens: batch)
        parameters += Double(moe.routerParameters(width: width) + moe.sharedParameters(width: width))
        parameters += experts * Double(moe.expert.parameters(width: width))
      } else {
        parameters += Double(denseFeedForward.parameters(width: width))
      }
    }
    return parameters * dataType.bytes + Double(batch) * cacheBytes(context: context, dataType: dataType)
  }
}

extension Architecture {
  /// Prompt tokens per second when processing long prompts, which is compute-bound: peak
  /// FLOP/s over the FLOPs of a token at the prompt's average context, `context / 2`.
  public func prefillTokensPerSecond(on hardware: HardwareProfile, context: Int, dataType: DataType) -> Double
  {
    hardware.peakFLOPS(dataType) / forwardFLOPsPerToken(context: context / 2)
  }
}
