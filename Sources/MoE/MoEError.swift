/// A failure of a MoE forward pass on the data it was given.
public enum MoEError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The router's logits for these tokens held NaN or an infinity (usually a diverged
  /// model or a bad input), so they could not be routed.
  case nonFiniteRouterLogits(tokens: [Int])
  /// A model's output logits at this position of the sequence held NaN or an infinity,
  /// so no next token can be chosen from them.
  case nonFiniteLogits(position: Int)
  /// A layer's output held NaN or an infinity for these tokens although its input was
  /// finite: its weights hold NaN or an infinity, or its arithmetic overflowed.
  case nonFiniteOutput(tokens: [Int])

  /// What went wrong and for which tokens.
  public var description: String {
    switch self {
    case .nonFiniteRouterLogits(let tokens):
      return "router logits are not finite for \(Self.list(tokens))"
    case .nonFiniteOutput(let tokens):
      return "the output is not finite (NaN or infinite weights, or overflow) for \(Self.list(tokens))"
    case .nonFiniteLogits(let position):
      return
        "the model's logits at position \(position) are not finite (NaN or infinite weights or activations)"
    }
  }

  /// `n token(s): a, b, …` (the first eight).
  static func list(_ tokens: [Int]) -> String {
    let shown = tokens.prefix(8).map(String.init).joined(separator: ", ")
    return "\(tokens.count) token(s): \(shown)\(tokens.count > 8 ? ", …" : "")"
  }
}
