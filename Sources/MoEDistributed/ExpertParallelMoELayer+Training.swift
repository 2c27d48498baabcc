import Linalg
import MoE

extension ExpertParallelMoELayer {
  /// What `backward` needs from `forwardForTraining`.
  public struct Cache: Sendable {
    /// `x`, this rank's `T_p × d` tokens.
    public var input: Matrix<Scalar>
    /// The router's decision on them.
    public var decision: RoutingDecision<Scalar>
    /// Where the kept assignments went.
    var plan: ExchangePlan<Scalar>
    /// The expert outputs that came back, in send order (for the combine weights' gradient).
    var returned: Matrix<Scalar>
    /// The local experts' cache for the rows this rank received, or `nil` when it received none.
    var local: MoELayer<Scalar>.Cache?
    /// The local expert of each received row.
    var receivedExperts: [Int]
    /// The shared expert's cache.
    var shared: SharedExpert<Scalar>.Cache?
  }

  /// The forward pass on this rank's tokens, keeping what `backward` needs.
  ///
  /// - Returns: the output, the statistics of the whole batch, and the cache.
  public func forwardForTraining(
    _ x: Matrix<Scalar>, k: Int? = nil, context: inout RoutingContext
  ) throws(DistributedError) -> (result: MoEForward<Scalar>, cache: Cache) {
    let routing = try route(x, k: k, context: &context)
    var plan = ExchangePlan(
      routing.decision, kept: routing.kept, tokens: 0..<x.rows, placement: placement, localIndex: localIndex)
    plan.receiveRows = try communicator.allToAll(plan.sendRows)
    let (rows, experts) = try send(x, plan).wait()
    var localCache: MoELayer<Scalar>.Cache?
    var results = Matrix<Scalar>(rows: rows.rows, columns: x.columns)
    if let layer = localLayer(routing: experts), rows.rows > 0 {
      var localContext = RoutingContext(isTraining: true)
      let (forward, cache) = layer.forwardForTraining(rows, context: &localContext)
      results = forward.output
      localCache = cache
    }
    let returned = try communicator.allToAllV(
      rows: results, sendRows: plan.receiveRows, receiveRows: plan.sendRows)
    var output = Matrix<Scalar>(rows: x.rows, columns: x.columns)
    output.scatterAddRows(returned, to: plan.tokens, weights: plan.weights)
    var sharedCache: SharedExpert<Scalar>.Cache?
    if let sharedExpert {
      let (sharedOutput, cache) = sharedExpert.forwardForTraining(x)
      output.add(sharedOutput)
      sharedCache = cache
    }
    return (
      MoEForward(output: output, stats: try gatheredStats(routing), decision: routing.decision),
      Cache(
        input: x, decision: routing.decision, plan: plan, returned: returned, local: localCache,
        receivedExperts: experts, shared: sharedCache)
    )
  }

  /// The backward pass of `forwardForTraining`: `∂L/∂(expert output)` travels to the
  /// experts' ranks, their backward passes accumulate the local experts' gradients, and
  /// `∂L/∂(expert input)` travels back; the router and the shared expert accumulate this
  /// rank's share of their gradients (sum them over the ranks with `synchronizeGradients`).
  ///
  /// Every rank must call it (the exchanges are collective), after its own forward pass.
  ///
  /// - Parameters:
  ///   - dy: `∂L/∂output`, `T_p × d`.
  ///   - cache: from this rank's `forwardForTraining`.
  ///   - routerLoss: this rank's balancing-loss gradients on the router's probabilities and
  ///     logits, if any.
  /// - Returns: `∂L/∂x`, `T_p × d`.
  public mutating func backward(
    _ dy: Matrix<Scalar>, cache: Cache, routerLoss: RouterLossGradient<Scalar>? = nil
  ) throws(DistributedError) -> Matrix<Scalar> {
    let plan = cache.plan
    let x = cache.input
    var dSent = dy.gatheringRows(plan.tokens)
    let dWeights = dSent.elementwiseProduct(cache.returned).rowSums()
    var weightGradients = [Scalar](repeating: 0, count: cache.decision.assignments.count)
    for (row, assignment) in plan.assignments.enumerated() { weightGradients[assignment] = dWeights[row] }
    dSent.scaleRows(by: plan.weights)

    let dReceived = try communicator.allToAllV(
      rows: dSent, sendRows: plan.sendRows, receiveRows: plan.receiveRows)
    var dRows = Matrix<Scalar>(rows: dReceived.rows, columns: x.columns)
    if let localCache = cache.local, var layer = localLayer(routing: cache.receivedExperts) {
      dRows = layer.backward(dReceived, cache: localCache)
      local!.experts = layer.experts
    }
    let dInputs = try communicator.allToAllV(
      rows: dRows, sendRows: plan.receiveRows, receiveRows: plan.sendRows)

    var dx = Matrix<Scalar>(rows: x.rows, columns: x.columns)
    dx.scatterAddRows(dInputs, to: plan.tokens)
    dx.add(
      router.backward(
        x, decision: cache.decision,
        gradient: RoutingGradient(
          weights: weightGradients, probabilities: routerLoss?.probabilities, logits: routerLoss?.logits)))
    if let shared = cache.shared {
      dx.add(sharedExpert!.backward(dy, cache: shared, input: x))
    }
    return dx
  }

  /// Sums the router's and the shared expert's gradients over the ranks (one all-reduce),
  /// so every replica takes the same optimizer step; the experts' gradients are already
  /// complete on their ranks. Parameters without a gradient count as zeros.
  public mutating func synchronizeGradients() throws(DistributedError) {
    var flat: [Scalar] = []
    visitReplicated { _, parameter in
      if let gradient = parameter.gradient {
        gradient.withUnsafeBufferPointer { flat.append(contentsOf: $0) }
      } else {
        flat.append(contentsOf: repeatElement(0, count: parameter.count))
      }
    }
    let summed = try communicator.allReduce(flat)
    var offset = 0
    visitReplicated { _, parameter in
      let value = parameter.value
      parameter.gradient = Matrix(
        rows: value.rows, columns: value.columns, elements: summed[offset..<offset + value.count])
      offset += value.count
    }
  }

  /// Visits the parameters every rank holds a copy of: the router's and the shared expert's.
  mutating func visitReplicated(_ body: (String, inout Parameter<Scalar>) -> Void) {
    router.visitParameters(prefix: "router", body)
    if sharedExpert != nil { sharedExpert!.visitParameters(prefix: "shared_expert", body) }
  }
}
