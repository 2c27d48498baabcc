import Linalg
import MoE
import MoEDistributed

/// One configuration whose expert-parallel training step must equal the single-process
/// step on the concatenated batch: a router kind, a capacity and a shared expert.
struct EquivalenceCase: Sendable {
  /// What the case covers, for the report.
  var name: String
  /// Tokens-choice router kind.
  var router: RouterKind
  /// `cf`, or `nil` for dropless.
  var capacityFactor: Double?
  /// Whether the layer has a (gated) shared expert.
  var sharedExpert: Bool

  enum RouterKind: Sendable {
    case softmaxTopK(k: Int)
    case groupLimitedSigmoid
    case hash
  }

  /// The cases `moe-distributed-checks` runs.
  static let all: [EquivalenceCase] = [
    EquivalenceCase(
      name: "softmax top-2, dropless", router: .softmaxTopK(k: 2), capacityFactor: nil, sharedExpert: false),
    EquivalenceCase(
      name: "softmax top-2, capacity 1.0", router: .softmaxTopK(k: 2), capacityFactor: 1.0,
      sharedExpert: false),
    EquivalenceCase(
      name: "Switch top-1, capacity 0.5, gated shared expert", router: .softmaxTopK(k: 1),
      capacityFactor: 0.5,
      sharedExpert: true),
    EquivalenceCase(
      name: "grouped sigmoid top-2 with selection bias (DeepSeek-V3)", router: .groupLimitedSigmoid,
      capacityFactor: nil, sharedExpert: true),
    EquivalenceCase(
      name: "hash routing by token id", router: .hash, capacityFactor: 1.25, sharedExpert: false),
  ]

  static let dimensions = 16
  static let hidden = 24
  static let experts = 8
  static let vocabulary = 50

  /// The layer every rank builds from `seed`.
  func layer(seed: UInt64) -> MoELayer<Float> {
    var g = Xoshiro256StarStar(seed: seed)
    let d = Self.dimensions
    let router: any Router<Float> =
      switch router {
      case .softmaxTopK(let k):
        // Top-1 keeps the probability as its weight (Switch): normalised, it would be 1 and
        // the gate's gradient only rounding noise.
        TopKSoftmaxRouter(dimensions: d, expertCount: Self.experts, k: k, normalizeTopK: k > 1, using: &g)
      case .groupLimitedSigmoid:
        GroupLimitedRouter(
          gate: Linear.routerGate(dimensions: d, expertCount: Self.experts, using: &g), k: 2,
          selectionBias: Matrix.normal(rows: 1, columns: Self.experts, using: &g), groupCount: 4,
          topKGroup: 2,
          routedScalingFactor: 2.5)
      case .hash:
        HashRouter(expertCount: Self.experts, vocabularySize: Self.vocabulary, seed: 7)
      }
    return MoELayer(
      dimensions: d, hiddenDimensions: Self.hidden, router: router,
      sharedHiddenDimensions: sharedExpert ? 20 : nil,
      gatedSharedExpert: sharedExpert, capacityFactor: capacityFactor, using: &g)
  }

  /// Rank `r`'s tokens: `11 + 3r` rows, so the ranks' batches differ in size.
  static func tokenCounts(ranks: Int) -> [Int] { (0..<ranks).map { 11 + 3 * $0 } }

  /// The largest difference, relative to the reference's largest magnitude, between this
  /// rank's share of the expert-parallel step and the single-process step: outputs, input
  /// gradients, every parameter's gradient and its value after one Adam step, over all ranks.
  func run(on world: Communicator, seed: UInt64) throws -> (difference: Double, worst: String, dropped: Int) {
    let counts = Self.tokenCounts(ranks: world.size)
    let total = counts.reduce(0, +)
    let first = counts[..<world.rank].reduce(0, +)
    let mine = first..<first + counts[world.rank]
    var g = Xoshiro256StarStar(seed: 99)
    let x = Matrix<Float>.normal(rows: total, columns: Self.dimensions, using: &g)
    let dy = Matrix<Float>.normal(rows: total, columns: Self.dimensions, using: &g)
    let ids = (0..<total).map { _ in Int(g.next() % UInt64(Self.vocabulary)) }

    var reference = layer(seed: 5)
    var referenceContext = RoutingContext(isTraining: true, tokenIDs: ids)
    let (expected, referenceCache) = reference.forwardForTraining(x, context: &referenceContext)
    let expectedDx = reference.backward(dy, cache: referenceCache)

    var parallel = try ExpertParallelMoELayer(partitioning: layer(seed: seed), communicator: world)
    var context = RoutingContext(isTraining: true, tokenIDs: Array(ids[mine]))
    let (result, cache) = try parallel.forwardForTraining(x[rows: mine], context: &context)
    let dx = try parallel.backward(dy[rows: mine], cache: cache)
    try parallel.synchronizeGradients()

    var worst = (difference: 0.0, name: "")
    func compare(_ name: String, _ difference: Double) {
      if difference > worst.difference || worst.name.isEmpty { worst = (difference, name) }
    }
    compare("output", result.output.largestDifference(relativeTo: expected.output[rows: mine]))
    compare("∂x", dx.largestDifference(relativeTo: expectedDx[rows: mine]))
    if result.stats.tokensPerExpert != expected.stats.tokensPerExpert
      || result.stats.droppedAssignments != expected.stats.droppedAssignments
    {
      compare("routing statistics", .infinity)
    }
    let referenceParameters = Dictionary(
      uniqueKeysWithValues: reference.namedParameters.map { ($0.name, $0.parameter) })
    for (name, parameter) in parallel.namedParameters {
      guard let twin = referenceParameters[name] else { return (.infinity, "\(name) missing", 0) }
      let none = Matrix<Float>(rows: twin.value.rows, columns: twin.value.columns)
      compare("∂\(name)", (parameter.gradient ?? none).largestDifference(relativeTo: twin.gradient ?? none))
    }
    var adam = Adam<Float>()
    adam.update(&parallel, learningRate: 0.01)
    var referenceAdam = Adam<Float>()
    referenceAdam.update(&reference, learningRate: 0.01)
    let updated = Dictionary(uniqueKeysWithValues: reference.namedParameters.map { ($0.name, $0.parameter) })
    for (name, parameter) in parallel.namedParameters {
      compare("\(name) after the step", parameter.value.largestDifference(relativeTo: updated[name]!.value))
    }
    let all = try world.allGather([worst.difference])
    let rank = all.indices.max { all[$0][0] < all[$1][0] }!
    let names = try world.allGather(Array(worst.name.utf8).map { Int($0) })
    return (
      all[rank][0], "rank \(rank): " + String(decoding: names[rank].map { UInt8($0) }, as: UTF8.self),
      expected.stats.droppedAssignments
    )
  }
}
