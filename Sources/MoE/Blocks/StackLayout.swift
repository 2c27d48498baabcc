/// Which layers of a stack are MoE and which dense, in the layouts real models use.
public struct StackLayout: Sendable, Equatable {
  /// `isMoE[i]`: whether layer `i`'s feed-forward is a MoE layer.
  public var isMoE: [Bool]

  /// A layout from its per-layer flags.
  public init(isMoE: [Bool]) { self.isMoE = isMoE }

  /// Number of layers.
  public var layerCount: Int { isMoE.count }

  /// Every layer dense.
  public static func dense(layers: Int) -> StackLayout {
    StackLayout(isMoE: Array(repeating: false, count: layers))
  }

  /// Every layer MoE (Mixtral, Switch).
  public static func allMoE(layers: Int) -> StackLayout {
    StackLayout(isMoE: Array(repeating: true, count: layers))
  }

  /// DeepSeek's rule: layer `i` is MoE when `i ≥ first_k_dense_replace` and
  /// `i % moe_layer_freq == 0` (DeepSeek-MoE 16B: first layer dense; DeepSeek-V3: first 3).
  /// Also the dense-then-sparse hybrid described for GLM-4 (`firstDenseLayers` dense).
  public static func firstDense(layers: Int, firstDenseLayers: Int, moeLayerFrequency: Int = 1) -> StackLayout
  {
    precondition(
      moeLayerFrequency >= 1, "StackLayout: moe_layer_freq \(moeLayerFrequency) must be at least 1")
    return StackLayout(isMoE: (0..<layers).map { $0 >= firstDenseLayers && $0 % moeLayerFrequency == 0 })
  }

  /// Qwen2-MoE's rule: layer `i` is MoE when `(i + 1) % decoder_sparse_step == 0` and `i` is
  /// not in `mlp_only_layers`.
  public static func everyMth(layers: Int, decoderSparseStep: Int, mlpOnlyLayers: Set<Int> = [])
    -> StackLayout
  {
    precondition(
      decoderSparseStep >= 1, "StackLayout: decoder_sparse_step \(decoderSparseStep) must be at least 1")
    return StackLayout(
      isMoE: (0..<layers).map { ($0 + 1) % decoderSparseStep == 0 && !mlpOnlyLayers.contains($0) })
  }
}
