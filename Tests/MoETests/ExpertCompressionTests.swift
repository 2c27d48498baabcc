import Linalg
import MoE
import Testing
import _TestSupport

/// Pruning bookkeeping, merging, and low-rank compression (exact at full rank).
@Suite struct ExpertCompressionTests {
  static func layer(seed: UInt64 = 61) -> MoELayer<Double> {
    var g = Xoshiro256StarStar(seed: seed)
    return MoELayer<Double>(
      dimensions: 6, hiddenDimensions: 5,
      router: TopKSoftmaxRouter(dimensions: 6, expertCount: 5, k: 2, using: &g),
      using: &g)
  }

  /// Keeping experts [3, 0, 4]: the new experts are the old ones in that order, the gate
  /// rows go with them, and a token whose top two are among them is routed as before.
  @Test func pruningKeepsExpertsAndTheirGateRows() {
    let layer = Self.layer()
    let pruned = ExpertCompression.pruned(layer, keeping: [3, 0, 4])
    #expect(pruned.expertCount == 3)
    #expect(pruned.experts[0].up.weight.value == layer.experts[3].up.weight.value)
    #expect(pruned.experts[2].down.weight.value == layer.experts[4].down.weight.value)
    let oldGate = (layer.router as! TopKSoftmaxRouter<Double>).gate.weight.value
    let newGate = (pruned.router as! TopKSoftmaxRouter<Double>).gate.weight.value
    #expect(newGate == oldGate.gatheringRows([3, 0, 4]))
    var g = Xoshiro256StarStar(seed: 62)
    let x = Matrix<Double>.normal(rows: 40, columns: 6, using: &g)
    let old = layer.router.route(x)
    let new = pruned.router.route(x)
    for t in 0..<40 {
      let oldChoice = Set(old.assignments.filter { $0.token == t }.map(\.expert))
      guard oldChoice.isSubset(of: [3, 0, 4]) else { continue }
      let mapped = Set(new.assignments.filter { $0.token == t }.map { [3, 0, 4][$0.expert] })
      #expect(mapped == oldChoice, "token \(t)")
    }
  }

  @Test func pruningByUsageKeepsTheMostUsed() {
    let layer = Self.layer()
    var g = Xoshiro256StarStar(seed: 63)
    let x = Matrix<Double>.normal(rows: 64, columns: 6, using: &g)
    let counts = ExpertCompression.usage(of: layer, on: x)
    #expect(counts.reduce(0, +) == 128)
    let (pruned, kept) = ExpertCompression.prunedByUsage(layer, calibration: x, keep: 3)
    #expect(kept.count == 3 && pruned.expertCount == 3)
    let dropped = Set(0..<5).subtracting(kept)
    #expect(dropped.allSatisfy { d in kept.allSatisfy { counts[$0] >= counts[d] } })
  }

  /// Two identical experts (with identical gate rows) are the most similar pair; merging
  /// them leaves the layer's output unchanged.
  @Test func mergingIdenticalExpertsChangesNothing() {
    var layer = Self.layer()
    layer.experts[4] = layer.experts[1]
    var router = layer.router as! TopKSoftmaxRouter<Double>
    var gate = router.gate.weight.value
    gate[rows: 4..<5] = gate[rows: 1..<2]
    router.gate = Linear(weight: gate)
    layer.router = router
    var g = Xoshiro256StarStar(seed: 64)
    let x = Matrix<Double>.normal(rows: 16, columns: 6, using: &g)
    let (merged, groups) = ExpertCompression.merged(layer, calibration: x, merges: 1)
    #expect(groups.contains([1, 4]) && merged.expertCount == 4)
    // Top-2 of five with a tie between the twins becomes top-2 of four: outputs change
    // only where a twin was picked together with its copy, so compare a top-1 layer.
    let top1 = MoELayer(router: TopKSoftmaxRouter(gate: Linear(weight: gate), k: 1), experts: layer.experts)
    let top1Merged = ExpertCompression.merged(top1, calibration: x, merges: 1).layer
    #expect(
      top1Merged(x).isApproximatelyEqual(to: top1(x), absoluteTolerance: 1e-12, relativeTolerance: 1e-12))
  }

  @Test func lowRankAtFullRankIsExactAndSmallerRanksStoreLess() throws {
    let layer = Self.layer()
    var g = Xoshiro256StarStar(seed: 65)
    let x = Matrix<Double>.normal(rows: 8, columns: 6, using: &g)
    let (full, storedFull) = try ExpertCompression.lowRank(layer, rank: 5)
    #expect(ExpertCompression.relativeError(full(x), layer(x)) < 1e-12)
    #expect(storedFull == 5 * 3 * 5 * 6)  // rank 5 of 5 × 6 stores the matrix itself
    let (two, storedTwo) = try ExpertCompression.lowRank(layer, rank: 2)
    #expect(storedTwo == 5 * 3 * 2 * (5 + 6))
    let error = ExpertCompression.relativeError(two(x), layer(x))
    #expect(error > 1e-3 && error < 1)
    // Rank 2 is the best rank-2 approximation: no worse than truncating at random.
    let w = layer.experts[0].up.weight.value
    let best = two.experts[0].up.weight.value
    #expect((w - best).norm <= (w - w.columns(0..<2).paddedWithZeroColumns(like: w)).norm)
  }
}

extension Matrix where Scalar == Double {
  /// The first columns of a matrix padded with zeros back to `reference`'s shape: a
  /// rank-≤2 competitor for the Eckart–Young check.
  fileprivate func paddedWithZeroColumns(like reference: Matrix<Double>) -> Matrix<Double> {
    var padded = Matrix<Double>(rows: reference.rows, columns: reference.columns)
    padded.setColumns(0..<columns, to: self)
    return padded
  }
}
