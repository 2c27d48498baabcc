/// The model families whose whole checkpoints load: the one list the loader, `moe-run`,
/// `moe-generate`, `cost-tables` and the docs read.
public enum ModelFamilyRegistry {
  /// Every family, in the order the docs list them.
  public static let families: [any ModelFamily] = [
    LlamaFamily(), MistralFamily(), MixtralFamily(), Qwen2MoEFamily(), Qwen3MoEFamily(), OLMoEFamily(),
    DeepSeekMoEFamily(), DeepSeekV2Family(), DeepSeekV3Family(), GLM45Family(), Dots1Family(),
    HunyuanMoEFamily(), ERNIE45Family(), GptOSSFamily(), Llama4TextFamily(), GraniteMoEFamily(),
    PhiMoEFamily(), Qwen3NextFamily(),
    JambaFamily(),
  ]

  /// The `model_type`s that load.
  public static var modelTypes: [String] { families.map(\.modelType) }

  /// The family that loads `modelType`, or `nil`.
  public static func family(_ modelType: String) -> (any ModelFamily)? {
    families.first { $0.modelType == modelType }
  }
}
