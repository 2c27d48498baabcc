import Linalg
import Testing
import _TestSupport

@testable import MoE

/// The MoE layer against the per-token `Double` reference for every router, with and
/// without shared experts and capacity drops, plus the structural identities.
@Suite struct MoELayerTests {
  static let (d, h, e) = (6, 5, 4)

  enum RouterKind: String, CaseIterable, Sendable {
    case topK, noisy, expertChoice, deepSeekV3, deepSeekV2, sinkhorn, hash, synthetic, sparseMixer
  }

  enum SharedKind: String, CaseIterable, Sendable { case none, deepSeek, qwen }

  static func router(_ kind: RouterKind, using g: inout Xoshiro256StarStar) -> any Router<Double> {
    switch kind {
    case .topK: return TopKSoftmaxRouter(dimensions: d, expertCount: e, k: 2, using: &g)
    case .noisy: return NoisyTopKRouter(dimensions: d, expertCount: e, k: 2, using: &g)
    case .expertChoice:
      return ExpertChoiceRouter(dimensions: d, expertCount: e, capacityFactor: 1.5, using: &g)
    case .deepSeekV3:
      return GroupLimitedRouter(
        gate: Linear(inputDimensions: d, outputDimensions: e, bias: false, using: &g), k: 2,
        selectionBias: Matrix([[0.1, -0.2, 0.3, 0]]), groupCount: 2, topKGroup: 1, routedScalingFactor: 2.5)
    case .deepSeekV2:
      return GroupLimitedRouter(
        gate: Linear(inputDimensions: d, outputDimensions: e, bias: false, using: &g), k: 2,
        scoring: .softmax,
        groupCount: 2, topKGroup: 2, groupScore: .best, normalizeTopK: false)
    case .sinkhorn: return SinkhornRouter(dimensions: d, expertCount: e, k: 2, using: &g)
    case .hash: return HashRouter(expertCount: e, vocabularySize: 50, k: 2, seed: 4)
    case .synthetic: return SyntheticRouter(expertCount: e, k: 2, distribution: .zipf(exponent: 1.2))
    case .sparseMixer:
      return SparseMixerRouter(
        gate: Linear(inputDimensions: d, outputDimensions: e, bias: false, using: &g), k: 2,
        jitterEpsilon: 0.4)
    }
  }

  static func layer(
    _ kind: RouterKind, shared: SharedKind, capacityFactor: Double?, gated: Bool = true, seed: UInt64 = 1
  ) -> MoELayer<Double> {
    var g = Xoshiro256StarStar(seed: seed)
    return MoELayer(
      dimensions: d, hiddenDimensions: h, router: router(kind, using: &g), gated: gated,
      sharedHiddenDimensions: shared == .none ? nil : 7, gatedSharedExpert: shared == .qwen,
      capacityFactor: capacityFactor, using: &g)
  }

  @Test(arguments: RouterKind.allCases, SharedKind.allCases)
  func matchesPerTokenReference(kind: RouterKind, shared: SharedKind) {
    for capacityFactor in [nil, 0.75] as [Double?] {
      for gated in [true, false] {
        let layer = Self.layer(kind, shared: shared, capacityFactor: capacityFactor, gated: gated)
        var g = Xoshiro256StarStar(seed: 2)
        let x = Matrix<Double>.normal(rows: 9, columns: Self.d, using: &g)
        var context = RoutingContext(isTraining: true, seed: 3, tokenIDs: (0..<9).map { $0 * 5 % 50 })
        var workspace = MoEWorkspace<Double>()
        let result = layer.forward(x, context: &context, workspace: &workspace)
        let capacity = layer.capacity(tokens: 9, k: layer.router.defaultK)
        let expected = MoEReference.moe(layer, x, decision: result.decision, capacity: capacity)
        let label = "\(kind) shared \(shared) cf \(String(describing: capacityFactor)) gated \(gated)"
        #expect(Reference.maxRelativeError(result.output, expected) < 1e-12, "\(label)")
        let kept = MoEReference.kept(result.decision, capacity: capacity)
        #expect(result.stats.droppedAssignments == result.decision.assignments.count - kept.count, "\(label)")
        #expect(
          result.stats.tokensPerExpert == (0..<Self.e).map { i in kept.count { $0.expert == i } }, "\(label)")
        #expect(result.stats.tokensWithoutExperts == 9 - Set(kept.map(\.token)).count, "\(label)")
      }
    }
  }

  /// Llama 4's combination: each expert runs on its input scaled by the router weight, and
  /// the outputs add unweighted — `Σ_e E_e(w_e·x)`, by explicit per-token loops.
  @Test func weightsThatScaleTheInput() {
    var layer = Self.layer(.topK, shared: .deepSeek, capacityFactor: nil, seed: 4)
    layer.weightsScaleInput = true
    let x = Reference.randomMatrix(Double.self, rows: 6, columns: Self.d, seed: 5) * 2
    var context = RoutingContext()
    var workspace = MoEWorkspace<Double>()
    let result = layer.forward(x, context: &context, workspace: &workspace)
    var expected = (0..<6).map { MoEReference.feedForward(layer.sharedExpert!.network, x[row: $0]) }
    for a in result.decision.assignments {
      let y = MoEReference.feedForward(layer.experts[a.expert], x[row: a.token].map { a.weight * $0 })
      for j in y.indices { expected[a.token][j] += y[j] }
    }
    #expect(Reference.maxRelativeError(result.output, expected) < 1e-12)
  }

  @Test func capacityDropsLaterTokensFirst() {
    // Four tokens, all preferring expert 0; C = ⌈4·1·1/2⌉ = 2, so tokens 2 and 3 are dropped.
    let gate = Linear<Double>(weight: Matrix([[1, 0], [0, 1]]))
    var g = Xoshiro256StarStar(seed: 5)
    let experts = (0..<2).map { _ in FeedForward<Double>(dimensions: 2, hiddenDimensions: 3, using: &g) }
    let layer = MoELayer(router: TopKSoftmaxRouter(gate: gate, k: 1), experts: experts, capacityFactor: 1)
    let x = Matrix<Double>([[4, 0], [3, 0], [2, 0], [1, 0]])
    var context = RoutingContext()
    var workspace = MoEWorkspace<Double>()
    let result = layer.forward(x, context: &context, workspace: &workspace)
    #expect(result.stats.capacity == 2)
    #expect(result.stats.tokensPerExpert == [2, 0])
    #expect(result.stats.droppedAssignments == 2)
    #expect(result.stats.tokensWithoutExperts == 2)
    #expect(result.stats.capacityUse == 1)
    #expect(result.output[row: 2] == [0, 0] && result.output[row: 3] == [0, 0])
    #expect(result.output[row: 0] != [0, 0])
  }

  @Test func allExpertsWithUniformWeightsIsTheirMean() {
    var g = Xoshiro256StarStar(seed: 6)
    let layer = MoELayer<Double>(
      dimensions: Self.d, hiddenDimensions: Self.h, router: SyntheticRouter(expertCount: Self.e, k: Self.e),
      using: &g)
    let x = Matrix<Double>.normal(rows: 5, columns: Self.d, using: &g)
    var mean = Matrix<Double>(rows: 5, columns: Self.d)
    for expert in layer.experts { mean += expert(x) }
    mean *= 1 / Double(Self.e)
    #expect(layer(x).isApproximatelyEqual(to: mean, absoluteTolerance: 1e-14, relativeTolerance: 1e-12))
  }

  @Test func oneExpertWithKOneIsTheDenseNetwork() {
    var g = Xoshiro256StarStar(seed: 7)
    for gated in [true, false] {
      let layer = MoELayer<Double>(
        dimensions: Self.d, hiddenDimensions: Self.h,
        router: TopKSoftmaxRouter(dimensions: Self.d, expertCount: 1, k: 1, using: &g), gated: gated,
        using: &g)
      let x = Matrix<Double>.normal(rows: 4, columns: Self.d, using: &g)
      #expect(layer(x).isApproximatelyEqual(to: layer.experts[0](x), relativeTolerance: 1e-13))
    }
  }

  @Test func aReusedWorkspaceGivesTheSameResults() {
    let layer = Self.layer(.topK, shared: .none, capacityFactor: nil)
    var g = Xoshiro256StarStar(seed: 8)
    var workspace = MoEWorkspace<Double>()
    for rows in [7, 2, 11, 1] {
      let x = Matrix<Double>.normal(rows: rows, columns: Self.d, using: &g)
      var context = RoutingContext()
      let reused = layer.forward(x, context: &context, workspace: &workspace).output
      #expect(reused == layer(x), "batch of \(rows)")
    }
  }

  @Test func tilesKeepWholeExpertBlocksWithinTheLimit() {
    // Limit 5: block 2 (7 rows) alone exceeds it and is split; its tail shares a tile.
    #expect(
      MoELayer<Double>.tiles([0..<3, 3..<3, 3..<10, 10..<12], rowLimit: 5) == [0..<3, 3..<8, 8..<12])
    #expect(MoELayer<Double>.tiles([0..<4, 4..<8, 8..<13], rowLimit: 10) == [0..<8, 8..<13])
    #expect(MoELayer<Double>.tiles([0..<0, 0..<0], rowLimit: 4).isEmpty)
  }

  /// 300 tokens at k = 2 make 600 sorted rows, more than one tile (1.9 × 2·300·6 / 22 =
  /// 310 rows): the tiled pass still matches the reference, and the workspace holds one
  /// tile, not the whole batch, within 1.9× the input and output.
  @Test func largeBatchesRunInTilesAndMatchTheReference() {
    let layer = Self.layer(.topK, shared: .deepSeek, capacityFactor: nil)
    var g = Xoshiro256StarStar(seed: 10)
    let x = Matrix<Double>.normal(rows: 300, columns: Self.d, using: &g)
    var context = RoutingContext()
    var workspace = MoEWorkspace<Double>()
    let result = layer.forward(x, context: &context, workspace: &workspace)
    let expected = MoEReference.moe(layer, x, decision: result.decision, capacity: nil)
    #expect(Reference.maxRelativeError(result.output, expected) < 1e-12)
    let limit = MoEWorkspace<Double>.tileRowLimit(
      tokens: 300, dimensions: Self.d, hiddenDimensions: Self.h, gated: true)
    #expect(limit == 310)
    let activations = 2 * 300 * Self.d * MemoryLayout<Double>.stride
    #expect(Double(workspace.byteCount) <= 1.9 * Double(activations))
  }

  @Test func perCallKChangesTheActiveExperts() {
    let layer = Self.layer(.topK, shared: .none, capacityFactor: nil)
    var g = Xoshiro256StarStar(seed: 9)
    let x = Matrix<Double>.normal(rows: 3, columns: Self.d, using: &g)
    var context = RoutingContext()
    var workspace = MoEWorkspace<Double>()
    let result = layer.forward(x, k: 3, context: &context, workspace: &workspace)
    #expect(result.stats.processedAssignments == 9)
  }

  @Test func nonFiniteRouterLogitsAreReportedOrThrown() throws {
    let layer = Self.layer(.topK, shared: .deepSeek, capacityFactor: nil)
    var x = Matrix<Double>(rows: 3, columns: Self.d, repeating: 0.5)
    x[1, 2] = .nan
    var context = RoutingContext()
    var workspace = MoEWorkspace<Double>()
    let result = layer.forward(x, context: &context, workspace: &workspace)
    #expect(result.stats.nonFiniteTokens == [1])
    #expect(result.stats.tokensWithoutExperts == 1)
    #expect(result.stats.tokensPerExpert.reduce(0, +) == 4)
    #expect(result.output.nonFiniteRows() == [1], "an unscored token's output is NaN, not a silent zero")
    #expect(throws: MoEError.nonFiniteRouterLogits(tokens: [1])) {
      try layer.checkedForward(x, context: &context, workspace: &workspace)
    }
    let finite = Matrix<Double>(rows: 2, columns: Self.d, repeating: 0.5)
    _ = try layer.checkedForward(finite, context: &context, workspace: &workspace)
  }

  @Test func mismatchedExpertsTrap() async {
    await #expect(processExitsWith: .failure) {
      var g = Xoshiro256StarStar(seed: 1)
      let experts = [
        FeedForward<Double>(dimensions: 4, hiddenDimensions: 3, using: &g),
        FeedForward<Double>(dimensions: 4, hiddenDimensions: 5, using: &g),
      ]
      _ = MoELayer(
        router: TopKSoftmaxRouter(dimensions: 4, expertCount: 2, k: 1, using: &g), experts: experts)
    }
  }
}

@Suite struct MoEReadmeExampleTests {
  /// The overview snippet of `MoE.docc`.
  @Test func glanceSnippetRuns() {
    var rng = Xoshiro256StarStar(seed: 7)
    let router = GroupLimitedRouter<Float>(
      gate: Linear(inputDimensions: 64, outputDimensions: 16, bias: false, using: &rng),
      k: 4, groupCount: 4, topKGroup: 2, routedScalingFactor: 2.5)
    let layer = MoELayer<Float>(
      dimensions: 64, hiddenDimensions: 128, router: router,
      sharedHiddenDimensions: 256, capacityFactor: 1.25, using: &rng)
    let x = Matrix<Float>.normal(rows: 32, columns: 64, using: &rng)
    var context = RoutingContext(seed: 1)
    var workspace = MoEWorkspace<Float>()
    let result = layer.forward(x, k: 2, context: &context, workspace: &workspace)
    #expect(result.stats.capacity == 5)  // ⌈32·2·1.25/16⌉
    #expect(result.stats.processedAssignments + result.stats.droppedAssignments == 64)
  }
}
