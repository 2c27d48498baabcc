/// A feed-forward network's shape: `d → hidden → d`, gated (three matrices: gate, up,
/// down — SwiGLU) or plain (two), with or without biases.
public struct FeedForwardShape: Sendable, Equatable {
  /// The hidden width.
  public var hidden: Int
  /// Whether there is a gate projection.
  public var gated: Bool
  /// Whether the projections have biases.
  public var bias: Bool

  /// A network of `hidden` features, gated (SwiGLU) unless `gated` is false.
  public init(hidden: Int, gated: Bool = true, bias: Bool = false) {
    self.hidden = hidden
    self.gated = gated
    self.bias = bias
  }

  /// Weights for a model of width `d`.
  public func parameters(width d: Int) -> Int {
    let matrices = gated ? 3 : 2
    return matrices * d * hidden + (bias ? (matrices - 1) * hidden + d : 0)
  }
}
