import Linalg

/// Something made of named parameters — a layer, a router, a block, a model — that can
/// hand each of them out for reading or updating.
///
/// Names are dotted paths as in PyTorch's `named_parameters()`:
/// `layers.3.moe.experts.5.up.weight`.
public protocol ParameterContainer {
  /// The scalar type of the parameters.
  associatedtype Scalar: BLASScalar

  /// Calls `body` with every parameter and its name, `prefix` prepended (with a dot when
  /// not empty), in a fixed order.
  mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void)
}

extension ParameterContainer {
  /// `name` under `prefix`: `"prefix.name"`, or `name` when `prefix` is empty.
  public static func _join(_ prefix: String, _ name: String) -> String {
    prefix.isEmpty ? name : prefix + "." + name
  }

  /// Every parameter with its name, in visiting order (copies; values share storage).
  public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] {
    var copy = self
    var result: [(name: String, parameter: Parameter<Scalar>)] = []
    copy.visitParameters(prefix: "") { result.append(($0, $1)) }
    return result
  }

  /// Number of scalars in all parameters (`trainableOnly`: only the trainable ones).
  public func parameterCount(trainableOnly: Bool = false) -> Int {
    namedParameters.reduce(0) { $0 + ((!trainableOnly || $1.parameter.isTrainable) ? $1.parameter.count : 0) }
  }

  /// Forgets every accumulated gradient.
  public mutating func zeroGradients() {
    visitParameters(prefix: "") { _, p in p.zeroGradient() }
  }

  /// Makes trainable exactly the parameters whose names satisfy `isTrainable`.
  public mutating func setTrainable(where isTrainable: (String) -> Bool) {
    visitParameters(prefix: "") { name, p in p.isTrainable = isTrainable(name) }
  }
}
