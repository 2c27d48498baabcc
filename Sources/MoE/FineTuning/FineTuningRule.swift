import Linalg

/// Which parameters of a trained MoE layer a task-level fine-tuning trains — the
/// article's claim that freezing most experts and tuning the routing weights and a few
/// experts cuts fine-tuning compute by 80–90 % without catastrophic forgetting.
///
/// With the rest frozen and no input gradient needed (one MoE layer over fixed inputs,
/// `MoELayer.backward(…, needsInputGradient: false)`), frozen experts cost nothing in the
/// backward pass: their blocks are skipped, and no weight gradient is computed for them.
public enum FineTuningRule: Sendable, Equatable, CustomStringConvertible {
  /// Everything trains (the baseline).
  case full
  /// Only the router (`router.*`).
  case routerOnly
  /// The router and the `k` experts the task's data uses most.
  case routerAndMostUsedExperts(Int)
  /// The router, grown by `n` outputs, and `n` new experts; the old experts are frozen.
  case routerAndNewExperts(Int)
  /// The router and rank-`rank` LoRA adapters on every projection of the `experts`
  /// experts the task's data uses most; the experts' own weights are frozen.
  case routerAndAdapters(rank: Int, experts: Int)

  /// A short name for tables.
  public var description: String {
    switch self {
    case .full: "full fine-tuning"
    case .routerOnly: "router only"
    case .routerAndMostUsedExperts(let k): "router + \(k) most-used experts"
    case .routerAndNewExperts(let n): "router + \(n) new experts"
    case .routerAndAdapters(let rank, let k): "router + rank-\(rank) LoRA on \(k) experts"
    }
  }

  /// `layer` made ready for this rule on a task whose data is `taskData`: new experts
  /// added (randomly initialised, gate rows included) when the rule asks for them, and
  /// every parameter's `isTrainable` set.
  ///
  /// - Precondition: `.routerAndNewExperts` needs a `TopKSoftmaxRouter`.
  public func prepare<Scalar: BLASScalar>(
    _ layer: MoELayer<Scalar>, taskData: Matrix<Scalar>, using generator: inout some RandomNumberGenerator
  ) -> MoELayer<Scalar> {
    var prepared = layer
    let trainableExperts: Set<Int>
    switch self {
    case .full:
      prepared.setTrainable { _ in true }
      return prepared
    case .routerOnly:
      trainableExperts = []
    case .routerAndMostUsedExperts(let k):
      trainableExperts = ExpertCompression.mostUsed(k, of: layer, on: taskData)
    case .routerAndAdapters(let rank, let k):
      // In expert order: a set's order changes from run to run, and each adapter draws from
      // the generator, so the draws would go to different experts.
      for e in ExpertCompression.mostUsed(k, of: layer, on: taskData).sorted() {
        for projection in [\FeedForward<Scalar>.up, \.down] + (layer.experts[e].isGated ? [\.gate!] : []) {
          let linear = prepared.experts[e][keyPath: projection]
          prepared.experts[e][keyPath: projection].adapter = LowRankAdapter(
            inputs: linear.inputDimensions, outputs: linear.outputDimensions, rank: rank, using: &generator)
        }
      }
      prepared.setTrainable { $0.hasPrefix("router.") || $0.contains("lora_") }
      return prepared
    case .routerAndNewExperts(let n):
      prepared = Self.adding(n, to: layer, using: &generator)
      trainableExperts = Set(layer.expertCount..<layer.expertCount + n)
    }
    let names = Set(trainableExperts.map { "experts.\($0)." })
    prepared.setTrainable { name in
      name.hasPrefix("router.") || names.contains { name.hasPrefix($0) }
    }
    return prepared
  }

  /// `layer` with `n` new randomly initialised experts and as many new gate rows (drawn as
  /// `nn.Linear` draws them).
  static func adding<Scalar: BLASScalar>(
    _ n: Int, to layer: MoELayer<Scalar>, using generator: inout some RandomNumberGenerator
  ) -> MoELayer<Scalar> {
    let router = ExpertCompression.topKRouter(layer, "FineTuningRule.routerAndNewExperts")
    precondition(n >= 1, "FineTuningRule: \(n) new experts")
    let old = router.gate.weight.value
    let rows = Linear<Scalar>.routerGate(dimensions: layer.dimensions, expertCount: n, using: &generator)
    var gate = Matrix<Scalar>(rows: old.rows + n, columns: old.columns)
    gate[rows: 0..<old.rows] = old
    gate[rows: old.rows..<old.rows + n] = rows.weight.value
    let first = layer.experts[0]
    let added = (0..<n).map { _ in
      FeedForward<Scalar>(
        dimensions: first.dimensions, hiddenDimensions: first.hiddenDimensions, gated: first.isGated,
        activation: first.activation, using: &generator)
    }
    return MoELayer(
      router: TopKSoftmaxRouter(
        gate: Linear(weight: gate), k: router.defaultK, normalizeTopK: router.normalizeTopK),
      experts: layer.experts + added, sharedExpert: layer.sharedExpert, capacityFactor: layer.capacityFactor)
  }
}
