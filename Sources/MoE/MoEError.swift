/// A failure of a MoE forward pass on the data it was given.
public enum MoEError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The router's logits for these tokens held NaN or an infinity (usually a diverged
  /// model or a bad input), so they could not be routed.
  case nonFiniteRouterLogits(tokens: [Int])
  /// A model's output logits at this position of the sequence held NaN or an infinity,
  /// so no next token can be chosen from them.
  case nonFiniteLogits(position: Int)

  /// What went wrong and for which tokens.
  public var description: String {
    switch self {
    case .nonFiniteRouterLogits(let tokens):
      let shown = tokens.prefix(8).map(String.init).joined(separator: ", ")
      return
        "router logits are not finite for \(tokens.count) token(s): \(shown)\(tokens.count > 8 ? ", …" : "")"
    case .nonFiniteLogits(let position):
      return
        "the model's logits at position \(position) are not finite (NaN or infinite weights or activations)"
    }
  }
}
