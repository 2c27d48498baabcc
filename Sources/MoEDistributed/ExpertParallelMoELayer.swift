import Linalg
import MoE

/// A `MoELayer` whose experts are spread over the ranks of a communicator (expert
/// parallelism, as in GShard, DeepSpeed-MoE and Megatron-Core).
///
/// Every rank holds the router and the shared expert (replicated) and its own experts
/// (`placement`). A forward pass on a rank's own tokens `x` (`T_p × d`):
/// 1. routes them (and, with a capacity factor, applies the capacity of the whole batch
///    over all ranks: the ranks gather their per-expert counts, so every rank drops exactly
///    the assignments a single `MoELayer` would drop on the concatenated batch);
/// 2. tells every rank how many rows it will send it (`allToAll`) and sends each kept
///    assignment's token row to the rank holding its expert (`all-to-all-v`);
/// 3. runs the experts it holds on the rows it received, through `MoELayer`'s dispatch and
///    grouped GEMMs;
/// 4. sends the results back (the second `all-to-all-v`) and combines them with the
///    router's weights, `y_t = Σ_e w_{t,e}·FFN_e(x_t) (+ shared(x_t))`.
///
/// The backward pass travels the same way in reverse; expert gradients stay on their rank
/// and `synchronizeGradients()` sums the replicated parameters' gradients over the ranks
/// (data parallelism over the same processes). With a loss that sums over tokens, a step
/// across `P` ranks equals the single-process step on the ranks' batches concatenated in
/// rank order.
///
/// Token-choice routers only: expert choice and Sinkhorn routing decide over the whole
/// batch at once. Every rank must construct the layer with the same configuration; the
/// initialiser checks a fingerprint of it on every rank.
///
/// Bytes each rank sends per forward pass: `2 · T_p · k · d · bytes · (1 − 1/P)` on
/// average with balanced routing (rows to its own experts stay local).
public struct ExpertParallelMoELayer<Scalar: BLASScalar & MPIElement>: Sendable, ParameterContainer {
  /// The processes the experts are spread over.
  public let communicator: Communicator
  /// Which rank holds which expert.
  public let placement: ExpertPlacement
  /// The router, the same on every rank.
  public var router: any Router<Scalar>
  /// The shared expert, the same on every rank, or `nil`.
  public var sharedExpert: SharedExpert<Scalar>?
  /// `cf` for the capacity `⌈T·k·cf/E⌉` of the whole batch, or `nil` for dropless.
  public var capacityFactor: Double?
  /// The experts this rank holds, as a layer whose router is replaced on every call by the
  /// assignments received.
  var local: MoELayer<Scalar>?
  /// Global index → local index on its owner.
  let localIndex: [Int]

  /// This rank's share of `layer`: its router, shared expert and capacity, and the experts
  /// `placement` gives this rank (contiguous blocks by default).
  ///
  /// Every rank must pass the same layer (built from the same seed, or loaded from the
  /// same checkpoint) and placement.
  ///
  /// - Throws: `DistributedError.unsupportedRouter` for expert-choice or Sinkhorn routing,
  ///   `.invalidPlacement` when the placement does not fit the layer or the communicator,
  ///   `.mismatchedConfiguration` (on every rank) when the ranks' fingerprints differ.
  public init(
    partitioning layer: MoELayer<Scalar>, placement: ExpertPlacement? = nil, communicator: Communicator
  ) throws(DistributedError) {
    if layer.router is ExpertChoiceRouter<Scalar> || layer.router is SinkhornRouter<Scalar> {
      throw .unsupportedRouter("\(type(of: layer.router))")
    }
    let placement =
      if let placement { placement } else {
        try ExpertPlacement.contiguous(experts: layer.expertCount, ranks: communicator.size)
      }
    guard placement.expertCount == layer.expertCount && placement.rankCount == communicator.size else {
      throw .invalidPlacement(
        "it places \(placement.expertCount) experts on \(placement.rankCount) ranks; the layer has \(layer.expertCount) experts and the communicator \(communicator.size) ranks"
      )
    }
    self.communicator = communicator
    self.placement = placement
    self.router = layer.router
    self.sharedExpert = layer.sharedExpert
    self.capacityFactor = layer.capacityFactor
    self.dimensions = layer.dimensions
    var localIndex = [Int](repeating: 0, count: layer.expertCount)
    for rank in 0..<communicator.size {
      for (i, e) in placement.experts(of: rank).enumerated() { localIndex[e] = i }
    }
    self.localIndex = localIndex
    let mine = placement.experts(of: communicator.rank)
    self.local =
      mine.isEmpty
      ? nil
      : MoELayer(
        router: AssignedRouter<Scalar>(experts: [], expertCount: mine.count),
        experts: mine.map { layer.experts[$0] })

    let fingerprint = Self.fingerprint(of: layer, placement: placement)
    let all = try communicator.allGather([fingerprint]).map { $0[0] }
    let differing = all.indices.filter { all[$0] != all[0] }
    if !differing.isEmpty { throw .mismatchedConfiguration(differingRanks: differing, fingerprints: all) }
  }

  /// `E`, over all ranks.
  public var expertCount: Int { placement.expertCount }
  /// `d`.
  public let dimensions: Int
  /// The experts this rank holds (global indices `placement.experts(of: rank)`).
  public var localExperts: [FeedForward<Scalar>] { local?.experts ?? [] }

  /// The layer applied to this rank's tokens `x` (`T_p × d`) in inference.
  ///
  /// - Parameters:
  ///   - x: this rank's tokens, `T_p × d` (the ranks' counts may differ).
  ///   - k: experts per token, or `nil` for the router's default.
  ///   - context: training mode, random source and token ids for the router.
  ///   - chunks: splits the tokens into this many consecutive chunks whose exchanges are
  ///     in flight while another chunk's experts compute (non-blocking all-to-all-v);
  ///     every rank must pass the same number. 1 is the plain pass.
  /// - Returns: the output and the routing statistics of the whole batch over all ranks.
  public func forward(
    _ x: Matrix<Scalar>, k: Int? = nil, chunks: Int = 1, context: inout RoutingContext
  ) throws(DistributedError) -> MoEForward<Scalar> {
    precondition(chunks >= 1, "ExpertParallelMoELayer: \(chunks) chunks")
    let routing = try route(x, k: k, context: &context)
    let bounds = (0...chunks).map { $0 * x.rows / chunks }
    var plans = (0..<chunks).map {
      ExchangePlan(
        routing.decision, kept: routing.kept, tokens: bounds[$0]..<bounds[$0 + 1], placement: placement,
        localIndex: localIndex)
    }
    for c in plans.indices { plans[c].receiveRows = try communicator.allToAll(plans[c].sendRows) }

    var outbound = [try send(x, plans[0])]
    var inbound: [PendingCollective<Scalar>] = []
    for c in plans.indices {
      if c + 1 < chunks { outbound.append(try send(x, plans[c + 1])) }
      let (rows, experts) = try outbound[c].wait()
      let results = localForward(rows, experts: experts)
      inbound.append(
        try communicator.startAllToAllV(
          rows: results, sendRows: plans[c].receiveRows, receiveRows: plans[c].sendRows))
    }
    var output = Matrix<Scalar>(rows: x.rows, columns: x.columns)
    for (plan, pending) in zip(plans, inbound) {
      output.scatterAddRows(
        try pending.waitForRows(columns: x.columns), to: plan.tokens, weights: plan.weights)
    }
    if let sharedExpert { output.add(sharedExpert(x)) }
    return MoEForward(output: output, stats: try gatheredStats(routing), decision: routing.decision)
  }

  // MARK: Steps shared with training

  /// A rank's routing: the decision, which assignments the capacity of the whole batch
  /// keeps, the capacity, and where this rank's tokens sit in the concatenated batch.
  struct Routing {
    var decision: RoutingDecision<Scalar>
    var kept: [Bool]
    var capacity: Int?
    var totalTokens: Int
    var firstToken: Int
  }

  /// Routes `x` and applies the capacity of the whole batch over every rank, admitting by
  /// choice, then by rank (the process), then in the router's order — the order a
  /// single `MoELayer` admits the concatenated batch in.
  func route(_ x: Matrix<Scalar>, k: Int?, context: inout RoutingContext) throws(DistributedError) -> Routing
  {
    let k = k ?? router.defaultK
    let decision = router.route(x, k: k, context: &context)
    let tokens = try communicator.allGather([x.rows]).map { $0[0] }
    let total = tokens.reduce(0, +)
    let first = tokens[..<communicator.rank].reduce(0, +)
    guard let capacityFactor else {
      return Routing(
        decision: decision, kept: [Bool](repeating: true, count: decision.assignments.count), capacity: nil,
        totalTokens: total, firstToken: first)
    }
    let capacity = Int((Double(total * k) * capacityFactor / Double(expertCount)).rounded(.up))
    let choices = (decision.assignments.map(\.choice).max() ?? -1) + 1
    let ranks = try communicator.allReduce([choices], .max)[0]
    // counts[choice·E + e]: this rank's assignments of that choice to expert e.
    var counts = [Int](repeating: 0, count: ranks * expertCount)
    for a in decision.assignments { counts[a.choice * expertCount + a.expert] += 1 }
    let everyone = try communicator.allGather(counts)
    var allowance = [Int](repeating: 0, count: counts.count)
    var used = [Int](repeating: 0, count: expertCount)
    for choice in 0..<ranks {
      for p in 0..<communicator.size {
        for e in 0..<expertCount {
          let i = choice * expertCount + e
          let admitted = Swift.min(everyone[p][i], Swift.max(0, capacity - used[e]))
          if p == communicator.rank { allowance[i] = admitted }
          used[e] += admitted
        }
      }
    }
    let kept = decision.assignments.map { a in
      let i = a.choice * expertCount + a.expert
      allowance[i] -= 1
      return allowance[i] >= 0
    }
    return Routing(decision: decision, kept: kept, capacity: capacity, totalTokens: total, firstToken: first)
  }

  /// Starts sending the plan's rows of `x` and their experts' local indices to the owners.
  func send(_ x: Matrix<Scalar>, _ plan: ExchangePlan<Scalar>) throws(DistributedError) -> Outbound {
    Outbound(
      rows: try communicator.startAllToAllV(
        rows: x.gatheringRows(plan.tokens), sendRows: plan.sendRows, receiveRows: plan.receiveRows),
      experts: try communicator.startAllToAllV(
        plan.localExperts, sendCounts: plan.sendRows, receiveCounts: plan.receiveRows),
      columns: x.columns)
  }

  /// Rows and expert indices in flight to their owners.
  struct Outbound {
    var rows: PendingCollective<Scalar>
    var experts: PendingCollective<Int>
    var columns: Int

    func wait() throws(DistributedError) -> (Matrix<Scalar>, [Int]) {
      (try rows.waitForRows(columns: columns), try experts.wait())
    }
  }

  /// This rank's experts as a layer that sends row `r` to local expert `experts[r]`, or
  /// `nil` when the rank holds none.
  func localLayer(routing experts: [Int]) -> MoELayer<Scalar>? {
    guard var layer = local else { return nil }
    layer.router = AssignedRouter<Scalar>(experts: experts, expertCount: layer.expertCount)
    return layer
  }

  /// This rank's experts on the rows it received (row `r` through local expert
  /// `experts[r]`), in inference.
  func localForward(_ rows: Matrix<Scalar>, experts: [Int]) -> Matrix<Scalar> {
    guard let layer = localLayer(routing: experts), rows.rows > 0 else {
      return Matrix(rows: rows.rows, columns: rows.columns)
    }
    var context = RoutingContext()
    var workspace = MoEWorkspace<Scalar>()
    return layer.forward(rows, context: &context, workspace: &workspace).output
  }

  /// The routing statistics of the whole batch: counts and drops summed over the ranks,
  /// mean probabilities over every token, non-finite tokens by their index in the
  /// concatenated batch.
  func gatheredStats(_ routing: Routing) throws(DistributedError) -> RoutingStats<Scalar> {
    let decision = routing.decision
    var counts = [Int](repeating: 0, count: expertCount + 2)
    for (i, a) in decision.assignments.enumerated() where routing.kept[i] { counts[a.expert] += 1 }
    counts[expertCount] = routing.kept.count { !$0 }
    var reached = [Bool](repeating: false, count: decision.tokenCount)
    for (i, a) in decision.assignments.enumerated() where routing.kept[i] { reached[a.token] = true }
    counts[expertCount + 1] = reached.count { !$0 }
    let sums = try communicator.allReduce(counts)
    let probabilities = try communicator.allReduce(decision.probabilities.columnSums())
    let nonFinite = try communicator.allGather(decision.nonFiniteTokens.map { $0 + routing.firstToken })
    let total = Scalar(Swift.max(1, routing.totalTokens))
    return RoutingStats(
      tokensPerExpert: Array(sums[..<expertCount]), droppedAssignments: sums[expertCount],
      capacity: routing.capacity, meanProbability: probabilities.map { $0 / total },
      tokensWithoutExperts: sums[expertCount + 1], nonFiniteTokens: Array(nonFinite.joined()))
  }

  /// Visits `router.*`, this rank's experts as `experts.{global index}.*`, and
  /// `shared_expert.*` (the names a single `MoELayer` gives them).
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    router.visitParameters(prefix: Self._join(prefix, "router"), body)
    let mine = placement.experts(of: communicator.rank)
    if local != nil {
      for (i, e) in mine.enumerated() {
        local!.experts[i].visitParameters(prefix: Self._join(prefix, "experts.\(e)"), body)
      }
    }
    if sharedExpert != nil {
      sharedExpert!.visitParameters(prefix: Self._join(prefix, "shared_expert"), body)
    }
  }

  /// FNV-1a over the layer's shapes, capacity, router kind, placement and every replicated
  /// parameter's bytes: equal on every rank exactly when they were built alike.
  static func fingerprint(of layer: MoELayer<Scalar>, placement: ExpertPlacement) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ bytes: UnsafeRawBufferPointer) {
      for byte in bytes {
        hash ^= UInt64(byte)
        hash &*= 0x100_0000_01b3
      }
    }
    let first = layer.experts[0]
    let shape =
      "\(type(of: layer.router)) E\(layer.expertCount) k\(layer.router.defaultK) d\(first.dimensions) h\(first.hiddenDimensions) gated\(first.isGated) \(first.activation) cf\(layer.capacityFactor.map { "\($0)" } ?? "-") owners\(placement.owners)"
    var text = shape
    text.withUTF8 { mix(UnsafeRawBufferPointer($0)) }
    for (name, parameter) in layer.namedParameters where !name.hasPrefix("experts.") {
      var label = name
      label.withUTF8 { mix(UnsafeRawBufferPointer($0)) }
      parameter.value.withUnsafeBufferPointer { mix(UnsafeRawBufferPointer($0)) }
    }
    return hash
  }
}
