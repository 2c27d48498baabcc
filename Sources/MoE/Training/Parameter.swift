import Linalg

/// A learned matrix: its value, the gradient accumulated by backward passes, and whether
/// training may change it.
///
/// The gradient is `nil` until a backward pass first adds to it, so models used only for
/// inference carry no gradient memory. A frozen parameter (`isTrainable == false`) gets no
/// gradient at all: backward passes skip computing it, which is what makes freezing cheap.
public struct Parameter<Scalar: BLASScalar>: Sendable {
  /// The current value.
  public var value: Matrix<Scalar>
  /// `∂loss/∂value` summed over the backward passes since the last `zeroGradient()`, same
  /// shape as `value`; `nil` when none has run.
  public var gradient: Matrix<Scalar>?
  /// Whether optimisers update this parameter and backward passes compute its gradient.
  public var isTrainable: Bool

  /// A trainable parameter holding `value`, without gradient.
  public init(_ value: Matrix<Scalar>, isTrainable: Bool = true) {
    self.value = value
    self.gradient = nil
    self.isTrainable = isTrainable
  }

  /// Number of scalars.
  public var count: Int { value.count }

  /// Calls `body` with the gradient for accumulation (created as zeros when absent) —
  /// only when the parameter is trainable.
  public mutating func accumulateGradient(_ body: (inout Matrix<Scalar>) -> Void) {
    guard isTrainable else { return }
    if gradient == nil { gradient = Matrix(rows: value.rows, columns: value.columns) }
    body(&gradient!)
  }

  /// Forgets the accumulated gradient.
  public mutating func zeroGradient() { gradient = nil }
}
