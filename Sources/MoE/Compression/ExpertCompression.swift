import Linalg

/// Making a trained MoE layer smaller after the fact: drop the experts calibration data
/// uses least, merge experts whose outputs look alike, or compress every expert matrix to a
/// low rank — the article's claim that expert pruning can cut the memory of MoE inference.
///
/// Pruning and merging need a router whose experts are rows of one gate
/// (`TopKSoftmaxRouter`: Mixtral, Qwen, Switch); the routing among the experts that remain
/// is then exactly the old routing renormalised over them.
public enum ExpertCompression {
  /// How many of `x`'s assignments each expert gets (dropless, the router's default `k`).
  public static func usage<Scalar: BLASScalar>(of layer: MoELayer<Scalar>, on x: Matrix<Scalar>) -> [Int] {
    var context = RoutingContext()
    var workspace = MoEWorkspace<Scalar>()
    return layer.forward(x, context: &context, workspace: &workspace).stats.tokensPerExpert
  }

  /// `layer` with only the experts in `kept` (in that order): their networks, and the
  /// router's gate rows that score them.
  ///
  /// - Precondition: the router is a `TopKSoftmaxRouter`; `kept` is non-empty, distinct,
  ///   in range, and holds at least the router's `k` experts.
  public static func pruned<Scalar: BLASScalar>(_ layer: MoELayer<Scalar>, keeping kept: [Int]) -> MoELayer<
    Scalar
  > {
    let router = topKRouter(layer, "ExpertCompression.pruned")
    precondition(
      !kept.isEmpty && Set(kept).count == kept.count
        && kept.allSatisfy { (0..<layer.expertCount).contains($0) },
      "ExpertCompression.pruned: experts \(kept) must be distinct and in 0..<\(layer.expertCount)")
    precondition(
      kept.count >= router.defaultK,
      "ExpertCompression.pruned: \(kept.count) experts for top-\(router.defaultK)")
    let gate = Linear(weight: router.gate.weight.value.gatheringRows(kept), bias: router.gate.bias?.value)
    return MoELayer(
      router: TopKSoftmaxRouter(gate: gate, k: router.defaultK, normalizeTopK: router.normalizeTopK),
      experts: kept.map { layer.experts[$0] }, sharedExpert: layer.sharedExpert,
      capacityFactor: layer.capacityFactor)
  }

  /// The `k` experts `data` uses most (ties to the lower index).
  static func mostUsed<Scalar: BLASScalar>(_ k: Int, of layer: MoELayer<Scalar>, on data: Matrix<Scalar>)
    -> Set<Int>
  {
    let counts = usage(of: layer, on: data)
    return Set(
      counts.indices.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }.prefix(k))
  }

  /// `layer` without its least-used experts on `calibration`: the `keep` most used stay
  /// (ties to the lower index), in their original order.
  public static func prunedByUsage<Scalar: BLASScalar>(
    _ layer: MoELayer<Scalar>, calibration: Matrix<Scalar>, keep: Int
  ) -> (layer: MoELayer<Scalar>, kept: [Int]) {
    let kept = mostUsed(keep, of: layer, on: calibration).sorted()
    return (pruned(layer, keeping: kept), kept)
  }

  /// `layer` with `merges` pairs of experts merged, most similar first: similarity is the
  /// cosine between two experts' outputs on all of `calibration`'s tokens, and a merged
  /// expert averages the pair's weights and gate rows (an approximation: the average of
  /// two networks is not the average of their outputs).
  ///
  /// - Returns: the layer and, for each of its experts, the old experts it merges.
  public static func merged<Scalar: BLASScalar>(
    _ layer: MoELayer<Scalar>, calibration: Matrix<Scalar>, merges: Int
  ) -> (layer: MoELayer<Scalar>, groups: [[Int]]) {
    let router = topKRouter(layer, "ExpertCompression.merged")
    precondition(
      merges >= 0 && layer.expertCount - merges >= router.defaultK,
      "ExpertCompression.merged: \(merges) merges leave fewer than \(router.defaultK) of \(layer.expertCount) experts"
    )
    var experts = layer.experts
    var rows = (0..<layer.expertCount).map { Matrix(row: router.gate.weight.value[row: $0]) }
    var groups = (0..<layer.expertCount).map { [$0] }
    var outputs = experts.map { Self.unit($0(calibration)) }
    for _ in 0..<merges {
      var best = (similarity: -Scalar.infinity, i: 0, j: 1)
      for i in experts.indices {
        for j in experts.indices where j > i {
          let similarity = dot(outputs[i], outputs[j])
          if similarity > best.similarity { best = (similarity, i, j) }
        }
      }
      let (i, j) = (best.i, best.j)
      experts[i] = average(experts[i], experts[j])
      rows[i] = (rows[i] + rows[j]) * Scalar(0.5)
      groups[i] += groups[j]
      outputs[i] = Self.unit(experts[i](calibration))
      experts.remove(at: j)
      rows.remove(at: j)
      groups.remove(at: j)
      outputs.remove(at: j)
    }
    var gate = Matrix<Scalar>(rows: rows.count, columns: layer.dimensions)
    for (e, row) in rows.enumerated() { gate[rows: e..<e + 1] = row }
    let merged = MoELayer(
      router: TopKSoftmaxRouter(
        gate: Linear(weight: gate), k: router.defaultK, normalizeTopK: router.normalizeTopK),
      experts: experts, sharedExpert: layer.sharedExpert, capacityFactor: layer.capacityFactor)
    return (merged, groups)
  }

  /// `layer` with every routed expert's matrices replaced by their best rank-`rank`
  /// approximation `U_r·diag(S_r)·V_rᵀ` (truncated SVD, LAPACK `?gesdd`; Eckart–Young).
  ///
  /// The returned layer multiplies by the reconstructed matrices; stored as the factors
  /// `U_r` and `diag(S_r)·V_rᵀ`, a matrix of `m × n` takes `r·(m + n)` scalars, which is
  /// what `storedScalars` counts (against `m·n` uncompressed).
  ///
  /// - Throws: `LinalgError` if an SVD does not converge.
  public static func lowRank<Scalar: BLASScalar>(
    _ layer: MoELayer<Scalar>, rank: Int
  ) throws -> (layer: MoELayer<Scalar>, storedScalars: Int) {
    precondition(rank >= 1, "ExpertCompression.lowRank: rank \(rank) must be at least 1")
    var stored = 0
    func compress(_ linear: Linear<Scalar>) throws -> Linear<Scalar> {
      let w = linear.weight.value
      let r = Swift.min(rank, w.rows, w.columns)
      stored += Swift.min(r * (w.rows + w.columns), w.count)
      let svd = try w.singularValueDecomposition()
      var right = svd.vt[rows: 0..<r]
      right.scaleRows(by: Array(svd.singularValues.prefix(r)))
      return Linear(weight: matmul(svd.u.columns(0..<r), right), bias: linear.bias?.value)
    }
    var result = layer
    for e in result.experts.indices {
      let expert = result.experts[e]
      result.experts[e] = FeedForward(
        gate: try expert.gate.map(compress), up: try compress(expert.up), down: try compress(expert.down),
        activation: expert.activation)
    }
    return (result, stored)
  }

  /// `‖a − b‖ / ‖b‖` (0 when both are zero).
  public static func relativeError<Scalar: BLASScalar>(_ a: Matrix<Scalar>, _ b: Matrix<Scalar>) -> Scalar {
    let scale = b.norm
    return scale == 0 ? (a.norm == 0 ? 0 : .infinity) : (a - b).norm / scale
  }

  // MARK: Pieces

  static func topKRouter<Scalar: BLASScalar>(_ layer: MoELayer<Scalar>, _ name: String) -> TopKSoftmaxRouter<
    Scalar
  > {
    guard let router = layer.router as? TopKSoftmaxRouter<Scalar> else {
      preconditionFailure(
        "ExpertCompression.\(name): the router must be a TopKSoftmaxRouter, not \(type(of: layer.router))")
    }
    return router
  }

  static func unit<Scalar: BLASScalar>(_ m: Matrix<Scalar>) -> Matrix<Scalar> {
    let n = m.norm
    return n == 0 ? m : m * (1 / n)
  }

  static func average<Scalar: BLASScalar>(_ a: FeedForward<Scalar>, _ b: FeedForward<Scalar>) -> FeedForward<
    Scalar
  > {
    func mean(_ x: Linear<Scalar>, _ y: Linear<Scalar>) -> Linear<Scalar> {
      Linear(
        weight: (x.weight.value + y.weight.value) * Scalar(0.5),
        bias: x.bias.map { ($0.value + y.bias!.value) * Scalar(0.5) })
    }
    return FeedForward(
      gate: a.gate.map { mean($0, b.gate!) }, up: mean(a.up, b.up), down: mean(a.down, b.down),
      activation: a.activation)
  }
}
