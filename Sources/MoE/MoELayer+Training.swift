import Linalg

extension MoELayer {
  /// What `MoELayer.backward` needs from the forward pass: the input, the router's
  /// decision, the dispatch and every expert activation (a workspace of its own).
  public struct Cache: Sendable {
    /// `x`, `T × d`.
    public var input: Matrix<Scalar>
    /// The router's decision.
    public var decision: RoutingDecision<Scalar>
    /// Each expert's block of rows in the sorted order.
    public var ranges: [Range<Int>]
    /// The gathered tokens and expert activations.
    var workspace: MoEWorkspace<Scalar>
    /// The shared expert's cache.
    public var shared: SharedExpert<Scalar>.Cache?
  }

  /// The forward pass, keeping what `backward` needs (its buffers are its own, so the
  /// cache stays valid however many other passes run).
  public func forwardForTraining(
    _ x: Matrix<Scalar>, k: Int? = nil, context: inout RoutingContext
  ) -> (result: MoEForward<Scalar>, cache: Cache) {
    precondition(!weightsScaleInput, "MoELayer: no backward pass for weights that scale the expert input")
    var workspace = MoEWorkspace<Scalar>()
    var result = routedForward(x, k: k, context: &context, workspace: &workspace, keepingActivations: true)
    var sharedCache: SharedExpert<Scalar>.Cache?
    if let sharedExpert {
      let (sharedOutput, cache) = sharedExpert.forwardForTraining(x)
      sharedCache = cache
      result.output.add(sharedOutput)
    }
    let ranges = (0..<expertCount).map { workspace.offsets[$0]..<workspace.offsets[$0 + 1] }
    return (
      result,
      Cache(input: x, decision: result.decision, ranges: ranges, workspace: workspace, shared: sharedCache)
    )
  }

  /// The backward pass of `forwardForTraining`: accumulates the gradients of every
  /// trainable expert, the router and the shared expert, and returns `∂L/∂x`.
  ///
  /// For an assignment `a` of token `t` to expert `e` with weight `w_a`:
  /// `∂(expert output) = w_a · dy_t`, `∂w_a = dy_t · FFN_e(x_t)`; the experts run their
  /// backward passes block by block through grouped GEMMs; dropped assignments contribute
  /// nothing and get `∂w = 0`.
  ///
  /// - Parameters:
  ///   - dy: `∂L/∂output`, `T × d`.
  ///   - cache: from `forwardForTraining`.
  ///   - routerLoss: the balancing losses' gradients on the router's probabilities and
  ///     logits, if any.
  ///   - needsInputGradient: whether the caller needs `∂L/∂x` (something upstream
  ///     trains). When it does not, experts whose parameters are all frozen are skipped
  ///     entirely and no expert computes its input gradient, so frozen experts cost
  ///     nothing in the backward pass; the result is then only the router's share.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func backward(
    _ dy: Matrix<Scalar>, cache: Cache, routerLoss: RouterLossGradient<Scalar>? = nil,
    needsInputGradient: Bool = true
  ) -> Matrix<Scalar> {
    let x = cache.input
    let w = cache.workspace
    let routed = w.sortedTokens.count
    var dx = Matrix<Scalar>(rows: x.rows, columns: dimensions)
    var weightGradients = [Scalar](repeating: 0, count: cache.decision.assignments.count)
    if routed > 0 {
      let rows = 0..<routed
      var dOutput = dy.gatheringRows(w.sortedTokens)
      let dWeights = dOutput.elementwiseProduct(w.expertOutput[rows: rows]).rowSums()
      for (i, assignment) in w.sortedAssignments.enumerated() { weightGradients[assignment] = dWeights[i] }
      dOutput.scaleRows(by: w.sortedWeights)
      let ranges =
        needsInputGradient
        ? cache.ranges
        : cache.ranges.enumerated().map { e, range in
          experts[e].parameterCount(trainableOnly: true) > 0 ? range : range.lowerBound..<range.lowerBound
        }
      if let dInput = expertsBackward(
        dOutput, ranges: ranges, workspace: w, needsInputGradient: needsInputGradient)
      {
        dx.scatterAddRows(dInput, to: w.sortedTokens)
      }
    }
    dx.add(
      router.backward(
        x, decision: cache.decision,
        gradient: RoutingGradient(
          weights: weightGradients, probabilities: routerLoss?.probabilities, logits: routerLoss?.logits)))
    if let shared = cache.shared, needsInputGradient || sharedExpert!.parameterCount(trainableOnly: true) > 0
    {
      dx.add(sharedExpert!.backward(dy, cache: shared, input: x))
    }
    return dx
  }

  /// Every expert's backward pass on its block (empty blocks are skipped): `dOutput` is
  /// `∂L/∂(expert output)` in the sorted order; returns `∂L/∂(gathered input)`, or `nil`
  /// without computing it when `needsInputGradient` is false.
  mutating func expertsBackward(
    _ dOutput: Matrix<Scalar>, ranges: [Range<Int>], workspace w: MoEWorkspace<Scalar>,
    needsInputGradient: Bool
  ) -> Matrix<Scalar>? {
    let routed = dOutput.rows
    let rows = 0..<routed
    let first = experts[0]
    let input = w.input[rows: rows]
    var dHidden = Matrix<Scalar>(rows: routed, columns: first.hiddenDimensions)
    groupedGEMM(dOutput, rowRanges: ranges, weights: experts.map(\.down.expandedWeight), into: &dHidden)
    accumulate(\.down, dOutput, w.hidden[rows: rows], ranges, inputGradient: &dHidden)
    var dInput = Matrix<Scalar>(rows: needsInputGradient ? routed : 0, columns: dimensions)
    if first.isGated {
      let (dGate, dUp) = first.gateBackward(
        dHidden, gate: w.gateOutput[rows: rows], up: w.upOutput[rows: rows])
      if needsInputGradient {
        groupedGEMM(dGate, rowRanges: ranges, weights: experts.map { $0.gate!.expandedWeight }, into: &dInput)
        groupedGEMM(dUp, rowRanges: ranges, weights: experts.map(\.up.expandedWeight), beta: 1, into: &dInput)
      }
      accumulate(\.gate!, dGate, input, ranges, inputGradient: &dInput)
      accumulate(\.up, dUp, input, ranges, inputGradient: &dInput)
    } else {
      var dUp = w.upOutput[rows: rows]
      dUp.applyDerivative(of: first.activation)
      dUp.multiplyElementwise(by: dHidden)
      if needsInputGradient {
        groupedGEMM(dUp, rowRanges: ranges, weights: experts.map(\.up.expandedWeight), into: &dInput)
      }
      accumulate(\.up, dUp, input, ranges, inputGradient: &dInput)
    }
    return needsInputGradient ? dInput : nil
  }

  /// `∂W_e += dOutput[block]ᵀ · input[block]` and `∂b_e += Σ dOutput[block]` for the
  /// projection at `layer` of every expert with a non-empty block, and for one with a
  /// low-rank adapter its gradients, adding the adapter's share of `∂input[block]` to
  /// `inputGradient` (when it has the block's rows).
  mutating func accumulate(
    _ layer: WritableKeyPath<FeedForward<Scalar>, Linear<Scalar>>, _ dOutput: Matrix<Scalar>,
    _ input: Matrix<Scalar>, _ ranges: [Range<Int>], inputGradient: inout Matrix<Scalar>
  ) {
    for (e, block) in ranges.enumerated() where !block.isEmpty {
      experts[e][keyPath: layer].weight.accumulateGradient {
        gemm(dOutput[rows: block], transposeA: true, input[rows: block], beta: 1, into: &$0)
      }
      experts[e][keyPath: layer].bias?.accumulateGradient {
        $0.add(Matrix(row: dOutput[rows: block].columnSums()))
      }
      if experts[e][keyPath: layer].adapter != nil {
        var dx: Matrix<Scalar>? = inputGradient.rows > 0 ? inputGradient[rows: block] : nil
        experts[e][keyPath: layer].adapter!.backward(dOutput[rows: block], input: input[rows: block], dx: &dx)
        if let dx { inputGradient[rows: block] = dx }
      }
    }
  }

  /// Visits `router.*`, `experts.{j}.*` and the shared expert (`shared_expert.*`,
  /// `shared_expert_gate.weight`).
  public mutating func visitParameters(prefix: String, _ body: (String, inout Parameter<Scalar>) -> Void) {
    router.visitParameters(prefix: Self._join(prefix, "router"), body)
    for j in experts.indices { experts[j].visitParameters(prefix: Self._join(prefix, "experts.\(j)"), body) }
    if sharedExpert != nil {
      sharedExpert!.visitParameters(prefix: Self._join(prefix, "shared_expert"), body)
    }
  }
}
