/// How much a model's routing differs from a reference's on the same tokens, layer by layer:
/// the share of (token, expert) choices of the reference that the model does not make —
/// `1 − |A_t ∩ B_t| / |A_t|` averaged over tokens, `A_t` the reference's experts for token
/// `t`, `B_t` the model's. A quantized model that routes as its original scores 0; one that
/// picks entirely different experts, 1.
public struct RoutingShift: Sendable {
  private var changed: [Double] = []
  private var tokens: [Int] = []

  /// Nothing compared yet.
  public init() {}

  /// Compares the choices of one layer for one token.
  ///
  /// - Precondition: `layer ≥ 0`.
  public mutating func add(layer: Int, reference: [Int], model: [Int]) {
    precondition(layer >= 0, "RoutingShift: layer \(layer)")
    while changed.count <= layer {
      changed.append(0)
      tokens.append(0)
    }
    guard !reference.isEmpty else { return }
    let kept = Set(reference).intersection(model).count
    changed[layer] += 1 - Double(kept) / Double(Set(reference).count)
    tokens[layer] += 1
  }

  /// Compares recorded routings (`RoutingRecorder`'s `experts[l][t]`) at the token rows
  /// `rows`.
  public mutating func add(reference: [[[Int]]], model: [[[Int]]], rows: some Sequence<Int>) {
    precondition(
      reference.count == model.count, "RoutingShift: \(reference.count) against \(model.count) layers")
    for row in rows {
      for layer in reference.indices {
        add(layer: layer, reference: reference[layer][row], model: model[layer][row])
      }
    }
  }

  /// Per layer, the share of the reference's choices the model changed (0 for a layer with
  /// no tokens compared).
  public var changedShare: [Double] {
    zip(changed, tokens).map { $1 == 0 ? 0 : $0 / Double($1) }
  }

  /// The mean of `changedShare` over the layers.
  public var meanChangedShare: Double {
    changedShare.isEmpty ? 0 : changedShare.reduce(0, +) / Double(changedShare.count)
  }
}
