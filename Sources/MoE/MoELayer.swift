import Linalg

/// The result of a `MoELayer` forward pass.
public struct MoEForward<Scalar: BLASScalar>: Sendable {
  /// `T × d`: the weighted sum of each token's experts, plus the shared expert.
  public var output: Matrix<Scalar>
  /// What happened to the tokens.
  public var stats: RoutingStats<Scalar>
  /// The router's decision, before capacity (for losses and diagnostics).
  public var decision: RoutingDecision<Scalar>

  /// A result from its parts.
  public init(output: Matrix<Scalar>, stats: RoutingStats<Scalar>, decision: RoutingDecision<Scalar>) {
    self.output = output
    self.stats = stats
    self.decision = decision
  }
}

/// A sparsely activated feed-forward layer: a router sends each token to a few of `E`
/// expert networks and the layer adds their outputs, weighted by the router:
/// `y_t = Σ_{e ∈ chosen(t)} w_{t,e} · FFN_e(x_t)  (+ shared(x_t))`.
///
/// The forward pass is router → dispatch → experts → combine:
/// 1. the router's assignments, then capacity (when `capacityFactor` is set);
/// 2. a counting sort of the kept assignments by expert (O(T·k + E)), stable in token
///    order, and one gather of the tokens into a contiguous block per expert;
/// 3. one GEMM per projection per expert on its block, all through `groupedGEMM`;
/// 4. a weighted scatter-add of each block back onto its tokens.
///
/// **Capacity.** Dropless by default. With a capacity factor `cf`, each expert takes at
/// most `C = ⌈T·k·cf/E⌉` assignments (Switch/GShard). Assignments are admitted in order of
/// rank — every token's first choice before any token's second — and within a rank in
/// token order, so later tokens' lower-ranked choices are dropped first. A dropped
/// assignment contributes zero: the block's residual connection carries the token.
///
/// Shapes: `x` and the output are `T × d`; experts are `d → h → d` networks, all of one
/// form (all gated or all plain, one activation).
///
/// ### References
/// Shazeer et al. 2017 (arXiv 1701.06538); Lepikhin et al. 2020, GShard (arXiv
/// 2006.16668); Fedus et al. 2021, Switch Transformers (arXiv 2101.03961); Gale et al.
/// 2022, MegaBlocks (arXiv 2211.15841) for the sort-by-expert dispatch.
public struct MoELayer<Scalar: BLASScalar>: Sendable, ParameterContainer {
  /// Chooses the experts.
  public var router: any Router<Scalar>
  /// The routed experts.
  public var experts: [FeedForward<Scalar>]
  /// An expert that sees every token, or `nil`.
  public var sharedExpert: SharedExpert<Scalar>?
  /// `cf` for capacity `⌈T·k·cf/E⌉`, or `nil` for a dropless layer.
  public var capacityFactor: Double?
  /// Whether the router's weight scales each token's expert **input**, `Σ_e E_e(w_e·x)`, instead
  /// of its output, `Σ_e w_e·E_e(x)` (Llama 4). Inference only: training traps.
  public var weightsScaleInput = false

  /// A layer from its parts.
  ///
  /// - Precondition: one expert per router output, all of one shape and form.
  public init(
    router: any Router<Scalar>, experts: [FeedForward<Scalar>], sharedExpert: SharedExpert<Scalar>? = nil,
    capacityFactor: Double? = nil
  ) {
    precondition(
      !experts.isEmpty && router.expertCount == experts.count,
      "MoELayer: the router has \(router.expertCount) outputs for \(experts.count) experts")
    let first = experts[0]
    for (e, expert) in experts.enumerated() {
      precondition(
        expert.dimensions == first.dimensions && expert.hiddenDimensions == first.hiddenDimensions
          && expert.isGated == first.isGated && expert.activation == first.activation
          && expert.clamp == first.clamp,
        "MoELayer: expert \(e) (\(expert.dimensions)→\(expert.hiddenDimensions), gated \(expert.isGated), \(expert.activation)) differs from expert 0 (\(first.dimensions)→\(first.hiddenDimensions), gated \(first.isGated), \(first.activation))"
      )
    }
    if let sharedExpert {
      precondition(
        sharedExpert.network.dimensions == first.dimensions,
        "MoELayer: shared expert width \(sharedExpert.network.dimensions) differs from the experts' \(first.dimensions)"
      )
    }
    if let capacityFactor {
      precondition(capacityFactor > 0, "MoELayer: capacity factor \(capacityFactor) must be positive")
    }
    self.router = router
    self.experts = experts
    self.sharedExpert = sharedExpert
    self.capacityFactor = capacityFactor
  }

  /// A layer of `router.expertCount` randomly initialised experts (`d → h → d`, gated
  /// SwiGLU unless `gated` is false), with an optional shared expert of width
  /// `sharedHiddenDimensions`, gated Qwen-style when `gatedSharedExpert`.
  public init(
    dimensions: Int, hiddenDimensions: Int, router: any Router<Scalar>, gated: Bool = true,
    activation: ElementwiseFunction = .silu, sharedHiddenDimensions: Int? = nil,
    gatedSharedExpert: Bool = false,
    capacityFactor: Double? = nil, using generator: inout some RandomNumberGenerator
  ) {
    let experts = (0..<router.expertCount).map { _ in
      FeedForward<Scalar>(
        dimensions: dimensions, hiddenDimensions: hiddenDimensions, gated: gated, activation: activation,
        using: &generator)
    }
    let shared = sharedHiddenDimensions.map { width in
      SharedExpert(
        network: FeedForward<Scalar>(
          dimensions: dimensions, hiddenDimensions: width, gated: gated, activation: activation,
          using: &generator),
        gate: gatedSharedExpert
          ? Linear<Scalar>(inputDimensions: dimensions, outputDimensions: 1, bias: false, using: &generator)
          : nil)
    }
    self.init(router: router, experts: experts, sharedExpert: shared, capacityFactor: capacityFactor)
  }

  /// `d`.
  public var dimensions: Int { experts[0].dimensions }
  /// `E`.
  public var expertCount: Int { experts.count }

  /// The per-expert capacity for `tokens` tokens at `k` experts each: `⌈T·k·cf/E⌉`, or
  /// `nil` when dropless.
  public func capacity(tokens: Int, k: Int) -> Int? {
    capacityFactor.map { Int((Double(tokens * k) * $0 / Double(expertCount)).rounded(.up)) }
  }

  /// The layer applied to `x` (`T × d`) in inference mode with the router's default `k`.
  public func callAsFunction(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
    var context = RoutingContext()
    var workspace = MoEWorkspace<Scalar>()
    return forward(x, context: &context, workspace: &workspace).output
  }

  /// Like `forward`, but throws instead of leaving tokens with non-finite router logits
  /// unrouted, or returning an output that is not finite.
  ///
  /// - Throws: `MoEError.nonFiniteRouterLogits` or `.nonFiniteOutput` naming the tokens.
  public func checkedForward(
    _ x: Matrix<Scalar>, k: Int? = nil, context: inout RoutingContext, workspace: inout MoEWorkspace<Scalar>
  ) throws -> MoEForward<Scalar> {
    let result = forward(x, k: k, context: &context, workspace: &workspace)
    if !result.stats.nonFiniteTokens.isEmpty {
      throw MoEError.nonFiniteRouterLogits(tokens: result.stats.nonFiniteTokens)
    }
    let bad = result.output.nonFiniteRows()
    if !bad.isEmpty { throw MoEError.nonFiniteOutput(tokens: bad) }
    return result
  }

  /// The layer applied to `x` (`T × d`).
  ///
  /// - Parameters:
  ///   - x: `T × d`, one token per row.
  ///   - k: experts per token, or `nil` for the router's default (changeable per call).
  ///   - context: training mode, random source and token ids for the router.
  ///   - workspace: buffers reused across calls.
  /// - Returns: the output, the routing statistics and the router's decision. Tokens with
  ///   non-finite router logits get no routed expert, a NaN output row, and are listed in the
  ///   statistics.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(
    _ x: Matrix<Scalar>, k: Int? = nil, context: inout RoutingContext, workspace: inout MoEWorkspace<Scalar>
  ) -> MoEForward<Scalar> {
    if Scalar.self == Float.self, let observer = ForwardObservation.current {
      observer.observe(
        layerInput: unsafeBitCast(x, to: Matrix<Float>.self),
        experts: unsafeBitCast(experts, to: [FeedForward<Float>].self))
    }
    var result = routedForward(x, k: k, context: &context, workspace: &workspace)
    if let sharedExpert {
      let shared = OperationProfile.measure("shared expert", bytes: sharedExpert.network.weightBytes) {
        sharedExpert(x)
      }
      result.output.add(shared)
    }
    return result
  }

  /// The forward pass without the shared expert: routing, dispatch, experts and combine.
  ///
  /// In inference the sorted rows go through the experts in tiles of whole expert blocks
  /// (see `MoEWorkspace.tileRowLimit`), so the working memory stays about the size of the
  /// layer's input and output; with `keepingActivations` (training) one tile holds every
  /// row and the workspace keeps the activations the backward pass needs.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func routedForward(
    _ x: Matrix<Scalar>, k: Int?, context: inout RoutingContext, workspace: inout MoEWorkspace<Scalar>,
    keepingActivations: Bool = false
  ) -> MoEForward<Scalar> {
    precondition(x.columns == dimensions, "MoELayer: input \(x.rows)×\(x.columns), layer width \(dimensions)")
    let decision = OperationProfile.measure("router") {
      router.route(x, k: k ?? router.defaultK, context: &context)
    }
    if Scalar.self == Float.self, let observer = ForwardObservation.current {
      observer.observe(routing: unsafeBitCast(decision, to: RoutingDecision<Float>.self), tokens: x.rows)
    }
    let capacity = capacity(tokens: x.rows, k: k ?? router.defaultK)
    let ranges = OperationProfile.measure("dispatch") {
      dispatch(decision, capacity: capacity, workspace: &workspace)
    }
    let routed = ranges.last?.upperBound ?? 0

    var output = Matrix<Scalar>(rows: x.rows, columns: dimensions)
    let first = experts[0]
    let rowLimit =
      keepingActivations
      ? routed
      : MoEWorkspace<Scalar>.tileRowLimit(
        tokens: x.rows, dimensions: dimensions, hiddenDimensions: first.hiddenDimensions, gated: first.isGated
      )
    for tile in Self.tiles(ranges, rowLimit: rowLimit) {
      // The bytes are summed only when a profile is installed (an autoclosure).
      OperationProfile.measure(
        "experts",
        bytes: ranges.indices.reduce(0) { $0 + (ranges[$1].overlaps(tile) ? experts[$1].weightBytes : 0) }
      ) {
        runExperts(
          x, ranges: ranges, tile: tile, keepingActivations: keepingActivations, workspace: &workspace)
      }
      OperationProfile.measure("combine") {
        output.scatterAddRows(
          workspace.expertOutput[rows: 0..<tile.count], to: workspace.sortedTokens[tile],
          weights: weightsScaleInput ? nil : workspace.sortedWeights[tile])
      }
    }
    // A token the router could not score has no defined output: NaN, so that every check
    // downstream (a model's logits, a program's statistics) sees it instead of a silent zero.
    for t in decision.nonFiniteTokens {
      output[row: t] = [Scalar](repeating: .nan, count: dimensions)
    }
    var reached = [Bool](repeating: false, count: x.rows)
    for t in workspace.sortedTokens { reached[t] = true }
    let stats = RoutingStats(
      tokensPerExpert: Array(workspace.counts), droppedAssignments: decision.assignments.count - routed,
      capacity: capacity, meanProbability: decision.probabilities.columnMeans(),
      tokensWithoutExperts: reached.count { !$0 }, nonFiniteTokens: decision.nonFiniteTokens)
    return MoEForward(output: output, stats: stats, decision: decision)
  }

  /// Cuts the sorted rows `0..<ranges.last.upperBound` into consecutive tiles of at most
  /// `rowLimit` rows that split an expert's block only when the block alone exceeds the
  /// limit, so each expert still costs one GEMM per projection whenever it fits.
  static func tiles(_ ranges: [Range<Int>], rowLimit: Int) -> [Range<Int>] {
    var tiles: [Range<Int>] = []
    var (start, end) = (0, 0)
    for block in ranges where !block.isEmpty {
      if block.upperBound - start > rowLimit && end > start {
        tiles.append(start..<end)
        start = end
      }
      while block.upperBound - start > rowLimit {
        tiles.append(start..<start + rowLimit)
        start += rowLimit
      }
      end = block.upperBound
    }
    if end > start { tiles.append(start..<end) }
    return tiles
  }

  /// Applies capacity and sorts the kept assignments by expert (a counting sort, stable
  /// in the router's order), filling `workspace.sortedTokens`, `sortedWeights`,
  /// `sortedAssignments`, `counts` and `offsets`.
  ///
  /// - Returns: each expert's block of rows in the sorted order.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func dispatch(
    _ decision: RoutingDecision<Scalar>, capacity: Int?, workspace: inout MoEWorkspace<Scalar>
  ) -> [Range<Int>] {
    let assignments = decision.assignments
    workspace.kept.removeAll(keepingCapacity: true)
    workspace.kept.append(contentsOf: repeatElement(capacity == nil, count: assignments.count))
    workspace.counts.removeAll(keepingCapacity: true)
    workspace.counts.append(contentsOf: repeatElement(0, count: expertCount))
    if let capacity {
      // Admit by choice (first choices first), then by position (token order for token-choice routers).
      let lastChoice = assignments.map(\.choice).max() ?? -1
      var byChoice = [[Int]](repeating: [], count: lastChoice + 1)
      for (i, a) in assignments.enumerated() { byChoice[a.choice].append(i) }
      for i in byChoice.joined() where workspace.counts[assignments[i].expert] < capacity {
        workspace.kept[i] = true
        workspace.counts[assignments[i].expert] += 1
      }
    } else {
      for a in assignments { workspace.counts[a.expert] += 1 }
    }
    workspace.offsets.removeAll(keepingCapacity: true)
    workspace.offsets.append(0)
    for e in 0..<expertCount { workspace.offsets.append(workspace.offsets[e] + workspace.counts[e]) }
    let routed = workspace.offsets[expertCount]
    workspace.sortedTokens.removeAll(keepingCapacity: true)
    workspace.sortedTokens.append(contentsOf: repeatElement(0, count: routed))
    workspace.sortedWeights.removeAll(keepingCapacity: true)
    workspace.sortedWeights.append(contentsOf: repeatElement(0, count: routed))
    workspace.sortedAssignments.removeAll(keepingCapacity: true)
    workspace.sortedAssignments.append(contentsOf: repeatElement(0, count: routed))
    var cursor = Array(workspace.offsets.dropLast())
    for (i, a) in assignments.enumerated() where workspace.kept[i] {
      workspace.sortedTokens[cursor[a.expert]] = a.token
      workspace.sortedWeights[cursor[a.expert]] = a.weight
      workspace.sortedAssignments[cursor[a.expert]] = i
      cursor[a.expert] += 1
    }
    return (0..<expertCount).map { workspace.offsets[$0]..<workspace.offsets[$0 + 1] }
  }

  /// Gathers the sorted rows of `tile` and runs every expert on its part of them, leaving
  /// the expert outputs in the first `tile.count` rows of `workspace.expertOutput`.
  ///
  /// With `keepingActivations`, `gateOutput`, `upOutput` and `hidden` keep the values the
  /// backward pass needs; otherwise the activation is applied in place (`gateOutput`
  /// becomes the hidden layer) and `hidden` is not used.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func runExperts(
    _ x: Matrix<Scalar>, ranges: [Range<Int>], tile: Range<Int>, keepingActivations: Bool,
    workspace: inout MoEWorkspace<Scalar>
  ) {
    let first = experts[0]
    workspace.reserve(
      rows: tile.count, dimensions: dimensions, hiddenDimensions: first.hiddenDimensions,
      gated: first.isGated,
      keepingActivations: keepingActivations)
    let local = ranges.map {
      ($0.clamped(to: tile).lowerBound - tile.lowerBound)..<($0.clamped(to: tile).upperBound - tile.lowerBound)
    }
    let rows = 0..<tile.count
    x.gatherRows(workspace.sortedTokens[tile], into: &workspace.input[rows: rows])
    if weightsScaleInput { workspace.input[rows: rows].scaleRows(by: Array(workspace.sortedWeights[tile])) }
    let input = workspace.input[rows: rows]
    Self.project(input, experts.map(\.up), local, into: &workspace.upOutput[rows: rows])
    if first.isGated {
      Self.project(input, experts.map { $0.gate! }, local, into: &workspace.gateOutput[rows: rows])
      if keepingActivations {
        workspace.hidden[rows: rows] = workspace.gateOutput[rows: rows]
        first.applyGate(&workspace.hidden[rows: rows], multiplying: workspace.upOutput[rows: rows])
      } else {
        first.applyGate(&workspace.gateOutput[rows: rows], multiplying: workspace.upOutput[rows: rows])
      }
    } else if keepingActivations {
      workspace.hidden[rows: rows] = workspace.upOutput[rows: rows]
      workspace.hidden[rows: rows].apply(first.activation)
    } else {
      workspace.upOutput[rows: rows].apply(first.activation)
    }
    let hidden =
      keepingActivations
      ? workspace.hidden[rows: rows]
      : first.isGated ? workspace.gateOutput[rows: rows] : workspace.upOutput[rows: rows]
    Self.project(hidden, experts.map(\.down), local, into: &workspace.expertOutput[rows: rows])
  }

  /// `output[ranges[e]] = input[ranges[e]]·W_eᵀ + b_e` for every expert `e`, one grouped
  /// GEMM plus the biases and low-rank adapters of the layers that have them (experts
  /// with compact weights run one after another, each product split over the threads).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  static func project(
    _ input: Matrix<Scalar>, _ layers: [Linear<Scalar>], _ ranges: [Range<Int>],
    into output: inout Matrix<Scalar>
  ) {
    let compact = layers.compactMap(\.compactWeight)
    if compact.count == layers.count {
      if let observer = ForwardObservation.current {
        // Each expert meets only the rows routed to it.
        for (weight, range) in zip(compact, ranges) where !range.isEmpty {
          observer.observe(unsafeBitCast(input[rows: range], to: Matrix<Float>.self), meeting: weight)
        }
      }
      WeightMatrix.groupedMultiply(compact, input, rowRanges: ranges, into: &output)
    } else if !compact.isEmpty {
      for (layer, range) in zip(layers, ranges) where !range.isEmpty {
        layer.forward(input[rows: range], into: &output[rows: range])
      }
      return
    } else {
      groupedGEMM(
        input, rowRanges: ranges, weights: layers.map(\.weight.value), transposeWeights: true, into: &output)
    }
    for (layer, range) in zip(layers, ranges) where !range.isEmpty {
      if let bias = layer.bias { output[rows: range].add(bias.value) }
      if let adapter = layer.adapter { adapter.add(input[rows: range], into: &output[rows: range]) }
    }
  }
}
