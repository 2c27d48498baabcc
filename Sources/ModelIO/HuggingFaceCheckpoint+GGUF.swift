import Foundation

extension HuggingFaceCheckpoint {
  /// A checkpoint over a GGUF file, loaded through the family its architecture maps to: the
  /// metadata as that family's `config.json` (`GGUFArchitecture.config(of:)`), the tensors under
  /// its names (`GGUFTensorSource`), compact tensors held where they lie unless `weightFormat`
  /// asks for another format.
  ///
  /// - Throws: `GGUFError` for an architecture, metadata or tensor MoEKit does not map, and
  ///   what `init(config:weights:)` throws.
  public init(gguf file: GGUFFile) throws {
    let architecture = try GGUFArchitecture.of(file)
    let config = try architecture.config(of: file)
    let modelType = config["model_type"] as? String ?? ""
    guard let family = ModelFamilyRegistry.family(modelType) else {
      throw CheckpointError.unsupportedModelType(
        modelType, architectures: [], supported: ModelFamilyRegistry.modelTypes)
    }
    try self.init(
      config: try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]),
      weights: try GGUFTensorSource(file, architecture: architecture, family: family))
  }
}
