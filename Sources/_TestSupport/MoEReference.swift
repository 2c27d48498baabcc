import Foundation
import Linalg
import MoE

/// Per-token `Double` references for the `MoE` module: no GEMM, no dispatch, just the
/// definitions.
public enum MoEReference {
  /// `W·x + b (+ s·B·(A·x) with an adapter)` for one token by plain loops.
  public static func linear(_ layer: Linear<Double>, _ x: [Double]) -> [Double] {
    let u = layer.adapter.map { adapter in
      (0..<adapter.rank).map { r in
        (0..<layer.inputDimensions).reduce(0.0) { $0 + adapter.down.value[r, $1] * x[$1] }
      }
    }
    return (0..<layer.outputDimensions).map { o in
      var sum = layer.bias?.value[0, o] ?? 0
      for i in 0..<layer.inputDimensions { sum += layer.weight.value[o, i] * x[i] }
      if let adapter = layer.adapter, let u {
        for r in 0..<adapter.rank { sum += adapter.scale * adapter.up.value[o, r] * u[r] }
      }
      return sum
    }
  }

  /// The feed-forward network on one token.
  public static func feedForward(_ network: FeedForward<Double>, _ x: [Double]) -> [Double] {
    let up = linear(network.up, x)
    let hidden: [Double]
    if let gate = network.gate, let clamp = network.clamp {
      // gpt-oss: (clamp(u, −L, L) + 1) · g̃ · σ(α g̃), g̃ = min(g, L).
      hidden = zip(linear(gate, x), up).map { g, u in
        let c = Swift.min(g, clamp.limit)
        return (Swift.min(Swift.max(u, -clamp.limit), clamp.limit) + 1) * c
          / (1 + Foundation.exp(-clamp.alpha * c))
      }
    } else if let gate = network.gate {
      hidden = zip(linear(gate, x), up).map { network.activation($0) * $1 }
    } else {
      hidden = up.map { network.activation($0) }
    }
    return linear(network.down, hidden)
  }

  /// The assignments a layer with capacity `capacity` keeps, by the documented rule:
  /// admitted by choice (first choices first), then in the router's order, while the expert has room.
  public static func kept(_ decision: RoutingDecision<Double>, capacity: Int?) -> [ExpertAssignment<Double>] {
    guard let capacity else { return decision.assignments }
    let order = decision.assignments.indices.sorted {
      let (a, b) = (decision.assignments[$0], decision.assignments[$1])
      return a.choice != b.choice ? a.choice < b.choice : $0 < $1
    }
    var load = [Int](repeating: 0, count: decision.expertCount)
    var keep = Set<Int>()
    for i in order where load[decision.assignments[i].expert] < capacity {
      load[decision.assignments[i].expert] += 1
      keep.insert(i)
    }
    return decision.assignments.indices.filter { keep.contains($0) }.map { decision.assignments[$0] }
  }

  /// The MoE layer's output for `decision`, token by token: the weighted sum of each kept
  /// expert's output, plus the shared expert.
  public static func moe(
    _ layer: MoELayer<Double>, _ x: Matrix<Double>, decision: RoutingDecision<Double>, capacity: Int?
  ) -> [[Double]] {
    var output = [[Double]](repeating: [Double](repeating: 0, count: layer.dimensions), count: x.rows)
    for a in kept(decision, capacity: capacity) {
      let y = feedForward(layer.experts[a.expert], x[row: a.token])
      for j in y.indices { output[a.token][j] += a.weight * y[j] }
    }
    if let shared = layer.sharedExpert {
      for t in 0..<x.rows {
        var scale = 1.0
        if let gate = shared.gate { scale = ElementwiseFunction.sigmoid(linear(gate, x[row: t])[0]) }
        let y = feedForward(shared.network, x[row: t])
        for j in y.indices { output[t][j] += scale * y[j] }
      }
    }
    return output
  }
}
