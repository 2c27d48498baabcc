import CostModel
import Report

/// Why a Hugging Face checkpoint's layer could not be built.
public enum CheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
  /// A tensor the configuration calls for is not in the weights.
  case missingTensor(String)
  /// A tensor's shape contradicts the configuration.
  case shapeMismatch(name: String, expected: [Int], found: [Int])
  /// The layer index is outside the model.
  case layerOutOfRange(layer: Int, layers: Int)
  /// The configuration is unusable (the field is named).
  case config(ConfigError)
  /// `hidden_act` names an activation MoEKit does not have.
  case unsupportedActivation(String)
  /// `model_type` is not one whose MoE blocks MoEKit loads.
  case unsupportedModelType(String, architectures: [String], supported: [String])
  /// Tensors of the checkpoint that the config gives no place (sorted names).
  case unexpectedTensors([String])
  /// A config field holds a value MoEKit cannot honour (rather than guess at).
  case unsupportedField(field: String, value: String, supported: String)
  /// A model folder (or a file it needs) cannot be read.
  case unreadableModel(path: String, reason: String)
  /// The weights, held as asked, would take more memory than the budget.
  case insufficientMemory(path: String, heldAs: String, needed: Int, budget: Int)
  /// An importance entry does not fit its product: not one number a column, or a number
  /// that is negative or not finite.
  case unusableImportance(name: String, columns: Int, found: Int, nonFinite: Bool)

  /// The problem, naming the tensor or field.
  public var description: String {
    switch self {
    case .missingTensor(let name): "the weights lack tensor \"\(name)\""
    case .shapeMismatch(let name, let expected, let found):
      "tensor \"\(name)\" has shape \(found), but the config implies \(expected)"
    case .layerOutOfRange(let layer, let layers): "layer \(layer) is outside 0..<\(layers)"
    case .config(let error): "\(error)"
    case .unsupportedActivation(let name):
      "hidden_act \"\(name)\" is not supported (silu, gelu, gelu_pytorch_tanh, relu are)"
    case .unsupportedModelType(let type, let architectures, let supported):
      "model_type \"\(type)\"\(architectures.isEmpty ? "" : " (architectures \(architectures.joined(separator: ", ")))") has no loader; supported: \(supported.joined(separator: ", "))"
    case .unexpectedTensors(let names):
      "the weights hold \(names.count) tensor(s) the config has no place for: "
        + names.prefix(5).map { "\"\($0)\"" }.joined(separator: ", ") + (names.count > 5 ? ", …" : "")
    case .unsupportedField(let field, let value, let supported):
      "config field \"\(field)\" is \(value), which MoEKit cannot honour (supported: \(supported))"
    case .unreadableModel(let path, let reason): "cannot read the model at \(path): \(reason)"
    case .insufficientMemory(let path, let format, let needed, let budget):
      "the model at \(path) needs about \(Format.bytes(needed)) of memory for its weights held as \(format), more than the \(Format.bytes(budget)) available; hold them smaller (--weight-format q8 or q4) or use a machine with more memory"
    case .unusableImportance(let name, let columns, let found, let nonFinite):
      nonFinite
        ? "the importance of \"\(name)\" holds a negative or non-finite number"
        : "the importance of \"\(name)\" has \(found) numbers, but the product has \(columns) input columns"
    }
  }
}
